"""Which bot token serves a workspace: the environment's, or the OAuth installation's."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.config import Settings
from bot.slack import web_client


class NotInstalled(Exception):
    """No usable bot token for this team (never installed, uninstalled or revoked)."""


def bot_token_for(settings: Settings, team_id: str | None) -> str:
    if not settings.oauth:
        return settings.require_bot_token()
    from bot.app import installation_store

    bot = installation_store(settings).find_bot(enterprise_id=None, team_id=team_id)
    if bot is None or not bot.bot_token:
        raise NotInstalled(f"Worth Knowing is not installed in workspace {team_id}")
    return bot.bot_token


def client_for_team(settings: Settings, team_id: str | None) -> WebClient:
    """A client for scheduled jobs and CLI work, which have no request to take a token from."""
    return web_client(settings, bot_token_for(settings, team_id))
