"""Which bot token serves a workspace: the environment's, or the OAuth installation's.

With OAuth, slack_sdk's installation store keys tokens by (enterprise id, team id). A request
carries both and Bolt looks the token up itself; scheduled work and the CLI have only a team
id, so the workspace row remembers the team's Enterprise Grid org. With token rotation on,
Bolt refreshes a token only when a request arrives; work nobody asked for (a round at 3 a.m.)
refreshes it here first.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import select

from bot.common.config import Settings
from bot.domain.services import programs
from bot.domain.services.programs import ensure_workspace
from bot.slack.client import web_client
from bot.storage.db import engine_for, session_scope
from bot.storage.models import Workspace

log = logging.getLogger(__name__)

# Refresh a token this long before it expires, as Bolt does for requests.
ROTATE_MINUTES_BEFORE_EXPIRY = 120


class NotInstalled(Exception):
    """No usable bot token for this team (never installed, uninstalled or revoked)."""


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store, which also marks the workspace active when it (re)installs and
    remembers its Enterprise Grid org."""

    def __init__(self, settings: Settings):
        super().__init__(
            client_id=settings.client_id or "", engine=engine_for(settings.database_url)
        )
        self.database_url = settings.database_url

    def save(self, installation) -> None:
        super().save(installation)
        # An org-wide installation names no workspace: Slack says which ones it serves
        # (team_access_granted), as their requests do. Saving it (a reinstall, or a refreshed
        # token) wakes none, so a workspace the app was removed from stays off.
        if installation.team_id:
            with session_scope(self.database_url) as session:
                workspace = ensure_workspace(session, installation.team_id, installation.team_name)
                # Scheduled work finds the token by (enterprise, team): keep the Grid org.
                workspace.enterprise_id = installation.enterprise_id


def installation_store(settings: Settings) -> SQLAlchemyInstallationStore:
    """Where OAuth installations (tokens) are kept: the Bolt app and scheduled work share it."""
    return InstallationStore(settings)


def enterprise_of(settings: Settings, team_id: str | None) -> str | None:
    """The Grid org a workspace was installed from (None outside Enterprise Grid)."""
    if not team_id:
        return None
    with session_scope(settings.database_url) as session:
        workspace = session.get(Workspace, team_id)
        return workspace.enterprise_id if workspace else None


def bot_token_for(settings: Settings, team_id: str | None) -> str:
    if not settings.oauth:
        return settings.require_bot_token()
    store = installation_store(settings)
    enterprise_id = enterprise_of(settings, team_id)
    # The workspace's own installation, else its org's org-wide one.
    keys = [dict(team_id=team_id)]
    if enterprise_id:
        keys.append(dict(team_id=None, is_enterprise_install=True))
    for key in keys:
        installation = store.find_installation(enterprise_id=enterprise_id, **key)
        if installation is not None and installation.bot_token:
            return fresh_installation(settings, store, installation).bot_token
    for key in keys:
        bot = store.find_bot(enterprise_id=enterprise_id, **key)
        if bot is not None and bot.bot_token:
            return bot.bot_token
    raise NotInstalled(f"Worth Knowing is not installed in workspace {team_id}")


def fresh_installation(settings: Settings, store, installation: Installation) -> Installation:
    """The installation with a bot token that lasts a while yet: refreshed and saved if it
    expires soon (tokens that never expire are returned as they are)."""
    rotator = TokenRotator(
        client_id=settings.client_id or "",
        client_secret=settings.client_secret or "",
        client=web_client(settings),
    )
    try:
        rotated = rotator.perform_token_rotation(
            installation=installation, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY
        )
    except SlackTokenRotationError as error:
        # Slack revokes a refresh token once used: another process may just have rotated it.
        again = store.find_installation(
            enterprise_id=installation.enterprise_id, team_id=installation.team_id
        )
        if again is not None and again.bot_token and again.bot_token != installation.bot_token:
            return again
        code = error.api_error.response.get("error", "error")
        raise NotInstalled(
            f"Slack refused to refresh the token of {_installed_in(installation)} ({code})"
        ) from None
    if rotated is None:
        return installation
    store.save(rotated)
    log.info("refreshed the bot token of %s", _installed_in(installation))
    return rotated


def _installed_in(installation: Installation) -> str:
    if installation.team_id:
        return f"workspace {installation.team_id}"
    return f"Enterprise Grid org {installation.enterprise_id}"


def workspaces_in_org(settings: Settings, enterprise_id: str) -> list[str]:
    """The workspaces of an Enterprise Grid org the app has heard from."""
    with session_scope(settings.database_url) as session:
        return programs.workspaces_of_org(session, enterprise_id)


def active_teams(database_url: str) -> list[str]:
    """The workspaces the app is installed in now."""
    with session_scope(database_url) as session:
        return list(
            session.scalars(
                select(Workspace.team_id)
                .where(Workspace.active.is_(True))
                .order_by(Workspace.team_id)
            )
        )


def client_for_team(settings: Settings, team_id: str | None, quick: bool = False) -> WebClient:
    """A client for scheduled jobs and CLI work, which have no request to take a token from."""
    return web_client(settings, bot_token_for(settings, team_id), quick)


def clients_for_teams(settings: Settings) -> Callable[[str | None], WebClient]:
    """client_for_team for one pass over many rows: each workspace's token is looked up (and
    refreshed) once, not once per row; a workspace that fails is asked again next time."""
    return functools.cache(functools.partial(client_for_team, settings))
