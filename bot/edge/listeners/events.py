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
        _stop_installation(deps, body, context)

    @app.event("team_access_granted")
    @in_background(deps)
    @once
    def access_granted(event: dict, body: dict, context) -> None:
        # An org-wide installation was added to these workspaces: their scheduled work
        # finds the org's token by the org kept on each.
        org = context.enterprise_id
        if not org:
            return
        with session_scope(url) as session:
            for team_id in event.get("team_ids") or []:
                programs.ensure_workspace(session, team_id).enterprise_id = org
        log.info("the app was added to %d workspaces of Enterprise Grid org %s",
                 len(event.get("team_ids") or []), org)  # fmt: skip

    @app.event("team_access_revoked")
    @in_background(deps)
    @once
    def access_revoked(event: dict, body: dict, context) -> None:
        # Removed from these workspaces (the org's token still serves the others).
        with session_scope(url) as session:
            for team_id in event.get("team_ids") or []:
                programs.deactivate(session, team_id)
        log.info("the app was removed from %d workspaces of Enterprise Grid org %s",
                 len(event.get("team_ids") or []), context.enterprise_id)  # fmt: skip

    @app.event("tokens_revoked")
    @in_background(deps)
    @once
    def revoked(event: dict, body: dict, context) -> None:
        if (event.get("tokens") or {}).get("bot"):
            _stop_installation(deps, body, context)


def _stop_installation(deps, body: dict, context) -> None:
    """No more rounds, reminders or messages where the installation served, and its tokens
    are gone: one workspace's, or, for an org-wide installation, every workspace of the org."""
    team_id = context.team_id or body.get("team_id")
    org = context.enterprise_id
    org_wide = bool(context.is_enterprise_install and org)
    with session_scope(deps.settings.database_url) as session:
        teams = programs.workspaces_of_org(session, org) if org_wide else []
        if team_id and team_id != org and team_id not in teams:
            teams.append(team_id)
        for team in teams:
            programs.deactivate(session, team)
    if deps.settings.oauth and (team_id or org_wide):
        store = installation_store(deps.settings)
        installed_in = None if org_wide else team_id
        store.delete_bot(enterprise_id=org, team_id=installed_in)
        store.delete_installation(enterprise_id=org, team_id=installed_in)
    if org_wide:
        log.info("Enterprise Grid org %s uninstalled the app: work in its %d workspaces is "
                 "stopped", org, len(teams))  # fmt: skip
    elif team_id:
        log.info("workspace %s uninstalled the app: its work is stopped", team_id)
