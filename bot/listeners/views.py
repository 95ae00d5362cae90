"""The program settings modal: validate, save, and show errors in the modal itself."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import home, texts
from bot.db import session_scope
from bot.services import people, programs

log = logging.getLogger(__name__)


def register(app: App, deps) -> None:
    url = deps.settings.database_url

    @app.view(home.SETTINGS_CALLBACK)
    def save_settings(ack: Ack, body: dict, view: dict, context, client: WebClient) -> None:
        try:
            _save(ack, body, view, context, client)
        except Exception:
            log.exception("saving the settings failed")
            if ack.response is None:
                ack(response_action="errors", errors={"cadence": texts.SOMETHING_WRONG[:150]})

    def _save(ack: Ack, body: dict, view: dict, context, client: WebClient) -> None:
        team_id = context.team_id or (body.get("team") or {}).get("id")
        user_id = (body.get("user") or {}).get("id")
        program_id, response_url = home.read_metadata(view.get("private_metadata"))
        raw = home.read_settings_state((view.get("state") or {}).get("values") or {})
        settings, errors = programs.validate_settings(raw)
        if errors:
            ack(response_action="errors", errors=home.errors_by_block(errors))
            return
        with session_scope(url) as session:
            program = programs.by_id(session, team_id, program_id)
            if program is None:
                problem = "This program no longer exists."
            elif not people.is_admin(session, client, team_id, user_id):
                problem = texts.NOT_ADMIN
            else:
                problem = None
                programs.apply_settings(program, settings)
                channel_id, schedule = program.channel_id, programs.describe(program)
                next_round = programs.next_round(program)
        if problem:
            ack(response_action="errors", errors={"cadence": problem[:150]})
            return
        ack()
        deps.later(_saved, client, team_id, user_id, channel_id, schedule, next_round, response_url)

    def _saved(client, team_id, user_id, channel_id, schedule, next_round, response_url) -> None:
        """After the modal closed: update the setup message and the admin's Home tab."""
        user = people.slack_user(client, user_id) or {}
        text = texts.schedule_set(
            channel_id, schedule, programs.format_when(next_round, user.get("tz"))
        )
        if response_url:
            try:
                WebhookClient(response_url).send(
                    text=text, response_type="ephemeral", replace_original=True
                )
            except Exception:  # noqa: BLE001 - the message may be gone; the Home tab still shows it
                log.warning("could not update the setup message", exc_info=True)
        home.publish(deps, client, team_id, user_id, notice=text, user=user)
