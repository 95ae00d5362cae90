"""The program settings modal: validate, show errors in the modal itself, save after."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.common import values
from bot.domain.services import people, programs
from bot.edge import home, settings_form
from bot.slack import texts
from bot.slack.client import is_response_url, slack_user
from bot.storage.db import session_scope

log = logging.getLogger(__name__)


def register(app: App, deps) -> None:
    url = deps.settings.database_url
    _thanks_note(app, deps)

    @app.view(home.SETTINGS_CALLBACK)
    def save_settings(ack: Ack, body: dict, view: dict, context, client: WebClient) -> None:
        """A bad form is answered in the modal; a good one closes it at once.

        Nothing before the acknowledgement asks Slack or writes to the database (Slack gives
        up after 3 seconds, and a round being delivered may hold SQLite's write lock): the form
        is checked on its own, and who submitted it is checked when saving.
        """
        try:
            raw = home.read_settings_state((view.get("state") or {}).get("values") or {})
            settings, errors = settings_form.validate(raw)
        except Exception:
            log.exception("reading the settings form failed")
            ack(response_action="errors", errors={"cadence": texts.SOMETHING_WRONG[:150]})
            return
        if errors:
            ack(response_action="errors", errors=home.errors_by_block(errors))
            return
        ack()
        team_id = context.team_id or (body.get("team") or {}).get("id")
        user_id = (body.get("user") or {}).get("id")
        program_id, response_url, shown = home.read_metadata(view.get("private_metadata"))
        shown = settings_form.shown_settings(shown)
        deps.later(_save, client, team_id, user_id, program_id, (shown, settings), response_url)

    def _save(client, team_id, user_id, program_id, form, response_url) -> None:
        """After the modal closed: save if they may, then update the setup message and the
        Home tab (which also tells them when they may not)."""
        try:
            user = slack_user(client, user_id) or {}  # before the write, never during it
        except SlackApiError as error:  # who they are is unknown: nothing is saved, and
            code = str(error.response.get("error", "error"))  # they are told so
            log.warning("could not check who saved the settings: %s", code)
            problem = texts.settings_not_saved(code)
            _tell(problem, response_url, replace=False)
            home.publish(deps, client, team_id, user_id, notice=problem)
            return
        with session_scope(url) as session:
            program = programs.by_id(session, team_id, program_id)
            if program is None:
                problem = "That program no longer exists."
            elif not people.is_admin(session, client, team_id, user_id, user):
                problem = texts.NOT_ADMIN
            else:
                problem = None
                shown, saved = form
                current = programs.settings_of(program)
                programs.apply_settings(program, programs.merged(current, shown, saved))
                channel_id, schedule = program.channel_id, programs.describe(program)
                next_round = programs.next_round_for(program, user.get("tz"))
        if problem:
            home.publish(deps, client, team_id, user_id, notice=problem, user=user)
            return
        text = texts.schedule_set(channel_id, schedule, next_round)
        _tell(text, response_url, replace=True)
        home.publish(deps, client, team_id, user_id, notice=text, user=user)

    def _tell(text: str, response_url: str | None, *, replace: bool) -> None:
        """On the setup message the form was opened from, if it was."""
        if response_url and is_response_url(response_url, deps.settings):
            try:
                WebhookClient(response_url).send(
                    text=text, response_type="ephemeral", replace_original=replace
                )
            except Exception:  # noqa: BLE001 - the message may be gone; the Home tab still shows it
                log.warning("could not update the setup message", exc_info=True)


def _thanks_note(app: App, deps) -> None:
    """A thank-you note: checked in the modal, then sent to each of the others as a DM from
    the app; only that it was sent is stored, never its words."""
    from bot.domain.services import after_lunch
    from bot.slack import round_messages as msgs

    url = deps.settings.database_url

    @app.view(msgs.THANKS_CALLBACK)
    def send_thanks(ack: Ack, body: dict, view: dict, context, client: WebClient) -> None:
        state = (view.get("state") or {}).get("values") or {}
        note = ((state.get("note") or {}).get("value") or {}).get("value") or ""
        if not any(c.isprintable() and not c.isspace() for c in note):  # zero-width too
            ack(response_action="errors", errors={"note": "Write a few words first."})
            return
        ack()
        team_id = context.team_id or (body.get("team") or {}).get("id")
        user_id = (body.get("user") or {}).get("id")
        group_id = view.get("private_metadata") or ""
        deps.later(_send, client, team_id, user_id, group_id, note.strip())

    def _send(client, team_id, user_id, group_id, note) -> None:
        with session_scope(url) as session:
            group = after_lunch.own_group(
                session, team_id, values.parse_id(group_id) or -1, user_id
            )
            if group is None:
                return  # a forged submission: nothing is sent
            after_lunch.thanked(session, group.group_id, user_id)
        text = msgs.thanks_note(user_id, group.channel_id, note[: msgs.MAX_NOTE])
        reached = []
        for other in group.others:  # one who cannot be written to (deactivated, say) is
            try:  # left out, and the sender told who got it; the others still do
                client.chat_postMessage(channel=other, text=text)
                reached.append(other)
            except SlackApiError as error:
                log.warning("a thank-you note could not reach one person: %s",
                            error.response.get("error"))  # fmt: skip
        client.chat_postMessage(channel=user_id, text=texts.thanks_sent(reached, group.others))
