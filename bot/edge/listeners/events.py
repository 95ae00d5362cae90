"""Slack events: the Home tab, people joining or leaving a program channel, deactivated
accounts, and the app being uninstalled. Each event id is handled once (`once_per_event`),
checked after the event is acknowledged."""

from __future__ import annotations

import functools
import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.services import dedup, membership, people, programs
from bot.domain.services.workspaces import installation_store
from bot.edge import home
from bot.edge.background import in_background
from bot.slack import texts
from bot.slack.client import slack_user
from bot.storage.db import session_scope

log = logging.getLogger(__name__)


def once_per_event(url: str):
    """Handle each event id once: Slack retries an event it thinks failed, to any process.

    Checked after the acknowledgement, on the work pool (the listener must take `body`):
    recording the id may wait for the database's write lock, held a while by a round being
    delivered, and Slack turns off event subscriptions that fail to be acknowledged.
    """

    def decorate(func):
        @functools.wraps(func)
        def listener(*args, **kwargs):
            body = kwargs["body"]
            event_id = body.get("event_id")
            if event_id and not dedup.first_time(url, str(event_id), body.get("team_id")):
                log.info("event %s already handled; acknowledged only", event_id)
                return None
            return func(*args, **kwargs)

        return listener

    return decorate


def register(app: App, deps) -> None:
    url = deps.settings.database_url
    once = once_per_event(url)

    @app.event("app_home_opened")
    @in_background(deps)
    @once
    def home_opened(event: dict, body: dict, context, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        home.publish(deps, client, context.team_id, event.get("user"))

    @app.event("member_joined_channel")
    @in_background(deps)
    @once
    def joined(event: dict, body: dict, context, client: WebClient) -> None:
        user_id, channel_id = event.get("user"), event.get("channel")
        if not user_id or user_id == context.bot_user_id:
            return
        with session_scope(url) as session:
            program = programs.in_channel(session, context.team_id, channel_id)
            if program is None:
                return
            enabled, program_id = program.enabled, program.id
            schedule = programs.describe(program)
        user = slack_user(client, user_id)
        with session_scope(url) as session:
            program = programs.by_id(session, context.team_id, program_id)
            grid = membership.enterprise_of(session, program.team_id)
            kind = membership.kind_of(user, program.team_id, context.bot_user_id, grid)
            membership.joined(session, program, user_id, kind)
            if not enabled or membership.left_out(kind, program):
                return  # bots, and guests or outsiders where they don't take part, get no welcome
            choice = people.claim_welcome(session, program, user_id)
            if choice is None:
                return  # welcomed before: once per person per program
            opted_out = choice.opted_out
        try:
            client.chat_postMessage(
                channel=user_id, text=texts.welcome(channel_id, schedule, opted_out)
            )
        except SlackApiError as error:
            log.warning("could not welcome someone: %s", error.response.get("error"))
            with session_scope(url) as session:
                people.unclaim_welcome(session, program_id, user_id)

    @app.event("member_left_channel")
    @in_background(deps)
    @once
    def left(event: dict, body: dict, context) -> None:
        # Rounds read channel membership live, so leaving the channel already ends pairing
        # there; their choices are kept in case they come back. The kept count drops now.
        user_id = event.get("user")
        with session_scope(url) as session:
            program = programs.in_channel(session, context.team_id, event.get("channel"))
            if program is None or not user_id:
                return
            membership.left(session, program, user_id)
            if user_id == context.bot_user_id:
                membership.record_error(session, program, "not_in_channel")  # as Slack would say

    @app.event("user_change")
    @in_background(deps)
    @once
    def user_changed(event: dict, body: dict, context) -> None:
        user = event.get("user") or {}
        user_id = user.get("id")
        if not user_id:
            return
        team_id = context.team_id or user.get("team_id")
        with session_scope(url) as session:
            people.set_deactivated(session, team_id, user_id, bool(user.get("deleted")))
            membership.changed(session, team_id, user, context.bot_user_id)

    @app.event("app_uninstalled")
    @in_background(deps)
    @once
    def uninstalled(body: dict, context) -> None:
        _stop_workspace(deps, context.team_id or body.get("team_id"), context.enterprise_id)

    @app.event("tokens_revoked")
    @in_background(deps)
    @once
    def revoked(event: dict, body: dict, context) -> None:
        if (event.get("tokens") or {}).get("bot"):
            _stop_workspace(deps, context.team_id or body.get("team_id"), context.enterprise_id)


def _stop_workspace(deps, team_id: str | None, enterprise_id: str | None) -> None:
    """No more rounds, reminders or messages for this workspace, and its tokens are gone."""
    if not team_id:
        return
    with session_scope(deps.settings.database_url) as session:
        programs.deactivate(session, team_id)
    if deps.settings.oauth:
        store = installation_store(deps.settings)
        store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        store.delete_installation(enterprise_id=enterprise_id, team_id=team_id)
    log.info("workspace %s uninstalled the app: its work is stopped", team_id)
