"""Settings from the environment and a `.env` file, checked once at start-up.

Every process (web, clock, CLI) reads its settings here so that a missing or contradictory
value is reported the same way everywhere: one line naming the variable and where to get it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import load_dotenv

SLACK_API_DEFAULT = "https://slack.com/api/"
DATABASE_DEFAULT = "sqlite:///worthknowing.db"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMATS = ("text", "json")
# How the Slack app is distributed, which sets some Web API limits (see README).
APP_DISTRIBUTIONS = ("internal", "marketplace", "unlisted")

# The bot scopes the app asks for; README.md explains why each one is needed.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:read",
    "groups:read",
    "channels:join",
    "mpim:write",
    "mpim:history",
    "im:write",
    "users:read",
    "users:read.email",
    "users.profile:read",
    "files:write",
)


SECRET_FIELDS = ("bot_token", "signing_secret", "app_token", "client_secret", "state_secret")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@\s/]*@")


def hide_password(url: str) -> str:
    """A database URL fit to show: ``postgresql://app:***@db/lunch``."""
    return _URL_PASSWORD.sub(r"\1***@", url)


class ConfigError(Exception):
    """A setting is missing or wrong; the message is the one line the user sees."""


# The example values of .env.example, which a person may forget to replace (a forgotten
# signing secret would refuse every request Slack sends, each as badly signed).
PLACEHOLDERS = {
    "SLACK_BOT_TOKEN": "xoxb-your-bot-token",
    "SLACK_SIGNING_SECRET": "your-signing-secret",
    "SLACK_APP_TOKEN": "xapp-your-app-token",
}
WHERE_FROM = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions (Bot User OAuth Token)",
    "SLACK_SIGNING_SECRET": "Basic Information > App Credentials",
    "SLACK_APP_TOKEN": "Basic Information > App-Level Tokens",
}


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    client_id: str | None
    client_secret: str | None
    slack_api_url: str
    database_url: str
    port: int
    log_level: str
    state_secret: str | None = None
    # Multiplies the Web API rate limits delivery paces itself by (Enterprise Grid, test servers).
    slack_rate_scale: float = 1.0
    # None: chosen by install mode (`app_distribution`).
    slack_app_distribution: str | None = None
    # text (one readable line) or json (one object a line, for a log system).
    log_format: str = "text"
    # Whether GET /metrics answers (Prometheus text format).
    metrics: bool = True
    # gunicorn worker processes for `serve` without --workers (WEB_CONCURRENCY).
    web_concurrency: int = 1

    @property
    def app_distribution(self) -> str:
        """internal, marketplace or unlisted. Unset, a one-workspace install is internal;
        an OAuth install is assumed unlisted (distributed without Marketplace approval),
        whose conversations.history limits are the strictest, so it works either way."""
        if self.slack_app_distribution:
            return self.slack_app_distribution
        return "unlisted" if self.oauth else "internal"

    def __repr__(self) -> str:
        """Every setting but the secrets, so a traceback or a log line never shows them."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRET_FIELDS and value:
                value = "***"
            elif item.name == "database_url":
                value = hide_password(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def oauth(self) -> bool:
        """Many workspaces: tokens come from the installation store, not the environment."""
        return bool(self.client_id and self.client_secret)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def require_slack(self) -> Settings:
        """Check that the app can talk to Slack and verify Slack's requests; raise otherwise."""
        self.require_slack_client()
        if not self.signing_secret and not self.socket_mode:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: copy it from Basic Information > App Credentials"
            )
        return self

    def require_slack_client(self) -> Settings:
        """Check that the app can talk to Slack (the clock's need; serve also verifies Slack's
        requests); raise otherwise."""
        for name, value in (("SLACK_BOT_TOKEN", self.bot_token),
                            ("SLACK_SIGNING_SECRET", self.signing_secret),
                            ("SLACK_APP_TOKEN", self.app_token)):  # fmt: skip
            if value and value == PLACEHOLDERS[name]:
                raise ConfigError(
                    f"{name} is still the placeholder of .env.example: copy the real one from "
                    f"{WHERE_FROM[name]}"
                )
        if self.client_id and not self.client_secret:
            raise ConfigError(
                "SLACK_CLIENT_SECRET is not set but SLACK_CLIENT_ID is: copy it from "
                "Basic Information > App Credentials, or unset SLACK_CLIENT_ID for one workspace"
            )
        if self.client_secret and not self.client_id:
            raise ConfigError(
                "SLACK_CLIENT_ID is not set but SLACK_CLIENT_SECRET is: copy it from "
                "Basic Information > App Credentials"
            )
        if self.oauth and self.bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: use SLACK_BOT_TOKEN for one "
                "workspace or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET for many, not both"
            )
        if not self.oauth and not self.bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from "
                "OAuth & Permissions (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "to install into many workspaces)"
            )
        if self.oauth and self.socket_mode:
            raise ConfigError(
                "SLACK_APP_TOKEN and SLACK_CLIENT_ID are both set: Socket Mode serves no "
                "/slack/install page, so install through OAuth over HTTP (unset SLACK_APP_TOKEN) "
                "or use Socket Mode with one workspace's SLACK_BOT_TOKEN"
            )
        if self.bot_token and self.bot_token.startswith("xoxe."):
            raise ConfigError(
                "SLACK_BOT_TOKEN is an expiring token (token rotation is on): the app can only "
                "refresh tokens it installed itself, so set SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET and install through /slack/install"
            )
        if self.bot_token and not self.bot_token.startswith("xoxb-"):
            raise ConfigError(
                "SLACK_BOT_TOKEN does not start with xoxb-: use the Bot User OAuth Token "
                "from OAuth & Permissions, not a user or app token"
            )
        if self.app_token and not self.app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN does not start with xapp-: create an app-level token with "
                "connections:write under Basic Information > App-Level Tokens"
            )
        return self

    def require_bot_token(self) -> str:
        """Jobs run from the command line in a one-workspace install need the bot token."""
        if self.bot_token:
            return self.bot_token
        if self.oauth:
            return ""
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from OAuth & Permissions"
        )


def _port(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return 3000
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT is {raw!r}: set it to a whole number such as 3000") from None
    if not 0 < port < 65536:
        raise ConfigError(f"PORT is {port}: set it to a number between 1 and 65535")
    return port


def _api_url(raw: str | None) -> str:
    url = (raw or "").strip() or SLACK_API_DEFAULT
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"SLACK_API_URL is {url!r}: set it to an http(s) URL such as {SLACK_API_DEFAULT}"
        )
    return url if url.endswith("/") else url + "/"


def _database_url(raw: str | None) -> str:
    url = (raw or "").strip() or DATABASE_DEFAULT
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if "://" not in url:
        raise ConfigError(  # not echoed: it may hold a password
            f"DATABASE_URL is not a database URL: use a URL such as {DATABASE_DEFAULT} "
            "or postgresql://user@host/dbname"
        )
    backend = url.split("://", 1)[0].split("+", 1)[0].lower()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"DATABASE_URL is a {backend[:20]!r} URL: this app runs on SQLite or PostgreSQL; "
            f"use a URL such as {DATABASE_DEFAULT} or postgresql://user@host/dbname"
        )
    _driver(url)
    return url


def _driver(url: str) -> None:
    """What SQLAlchemy would otherwise find out on first connecting, as a traceback. Nothing
    of the URL is echoed but its scheme: the rest may hold a password. (SQLAlchemy is
    imported here, not above: `preview` and `--help` need no database and start at once.)"""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url).get_dialect().import_dbapi()
    except ValueError:  # the only one make_url raises
        raise ConfigError(
            "DATABASE_URL has a port that is not a number: use a URL such as "
            "postgresql://user:password@host:5432/dbname"
        ) from None
    except (ImportError, ArgumentError):  # a driver not installed, or none of that name
        raise ConfigError(
            f"DATABASE_URL starts with {url.split('://', 1)[0][:40]}://, a driver this app does "
            "not come with: use postgresql:// or postgresql+psycopg:// (psycopg 3) for "
            f"PostgreSQL, or a URL such as {DATABASE_DEFAULT}"
        ) from None


def _log_level(raw: str | None) -> str:
    level = (raw or "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL is {raw!r}: use one of {', '.join(LOG_LEVELS)}")
    return level


def _log_format(raw: str | None) -> str:
    value = (raw or "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT is {raw!r}: use text or json")
    return value


def _switch(name: str, raw: str | None, default: bool) -> bool:
    value = (raw or "").strip().lower()
    if not value:
        return default
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} is {raw!r}: use on or off")


def _rate_scale(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not 0 < scale <= 1000:
        raise ConfigError(f"SLACK_RATE_SCALE is {raw!r}: set it to a number such as 1 or 2.5")
    return scale


def _distribution(raw: str | None) -> str | None:
    value = (raw or "").strip().lower()
    if not value:
        return None
    if value not in APP_DISTRIBUTIONS:
        raise ConfigError(
            f"SLACK_APP_DISTRIBUTION is {raw!r}: use one of {', '.join(APP_DISTRIBUTIONS)}"
        )
    return value


def web_concurrency(raw: str | None) -> int:
    """gunicorn's worker processes for `serve` (WEB_CONCURRENCY, as hosting platforms set it).
    0 would start no worker at all: an app that says it listens but never answers."""
    if raw is None:
        return 1
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ConfigError(
            f"WEB_CONCURRENCY is {raw!r}: set it to a whole number of worker processes, "
            "1 or more (or unset it for 1)"
        )
    return workers


def load(env: dict[str, str] | None = None, dotenv_path: str | Path | None = None) -> Settings:
    """Read settings; values already in the environment win over the `.env` file."""
    if env is None:
        try:
            load_dotenv(dotenv_path or Path.cwd() / ".env", override=False)
        except UnicodeDecodeError:
            raise ConfigError(
                f"{dotenv_path or '.env'} is not UTF-8 text: save it again with the UTF-8 "
                "encoding (your editor's Save As, or iconv -f latin1 -t utf-8)"
            ) from None
        env = dict(os.environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    return Settings(
        bot_token=get("SLACK_BOT_TOKEN"),
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=get("SLACK_APP_TOKEN"),
        client_id=get("SLACK_CLIENT_ID"),
        client_secret=get("SLACK_CLIENT_SECRET"),
        slack_api_url=_api_url(env.get("SLACK_API_URL")),
        database_url=_database_url(env.get("DATABASE_URL")),
        port=_port(env.get("PORT")),
        log_level=_log_level(env.get("LOG_LEVEL")),
        state_secret=get("SLACK_STATE_SECRET"),
        slack_rate_scale=_rate_scale(env.get("SLACK_RATE_SCALE")),
        slack_app_distribution=_distribution(env.get("SLACK_APP_DISTRIBUTION")),
        log_format=_log_format(env.get("LOG_FORMAT")),
        metrics=_switch("METRICS", env.get("METRICS"), True),
        web_concurrency=web_concurrency(env.get("WEB_CONCURRENCY")),
    )
