"""Builds the Bolt app: one workspace with a bot token, or many through OAuth."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot import listeners
from bot.config import BOT_SCOPES, ConfigError, Settings
from bot.db import engine_for
from bot.slack import web_client

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


@dataclass(frozen=True)
class Deps:
    """What listeners need besides the request: settings and where the data lives."""

    settings: Settings

    @property
    def database_url(self) -> str:
        return self.settings.database_url


def installation_store(settings: Settings) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(
        client_id=settings.client_id or "",
        engine=engine_for(settings.database_url),
    )


def build_app(settings: Settings) -> App:
    """Make the app; a token Slack refuses becomes a ConfigError the CLI can print."""
    settings.require_slack()
    verify = not settings.socket_mode
    try:
        if settings.oauth:
            store = installation_store(settings)
            oauth = OAuthSettings(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=store,
                state_store=SQLAlchemyOAuthStateStore(
                    expiration_seconds=600, engine=engine_for(settings.database_url)
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            )
            app = App(
                client=web_client(settings),
                signing_secret=settings.signing_secret or "",
                oauth_settings=oauth,
                installation_store=store,
                request_verification_enabled=verify,
                process_before_response=False,
            )
        else:
            app = App(
                client=web_client(settings, settings.bot_token),
                signing_secret=settings.signing_secret or "",
                request_verification_enabled=verify,
                process_before_response=False,
            )
    except (BoltError, SlackApiError) as error:
        raise ConfigError(
            f"Slack refused SLACK_BOT_TOKEN ({_reason(error)}): check the Bot User OAuth Token "
            "under OAuth & Permissions and that the app is installed"
        ) from None
    listeners.register(app, Deps(settings))
    return app


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "error"))
    text = str(error)
    for code in ("invalid_auth", "token_revoked", "account_inactive", "not_authed"):
        if code in text:
            return code
    return text.splitlines()[0][:120] if text else "unknown error"
