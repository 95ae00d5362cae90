"""`python -m bot serve`: gunicorn in HTTP mode, or a Socket Mode connection."""

from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, Settings
from bot.db import dispose_engines

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    """Builds the app in each worker, after the fork, so no connection is shared."""

    def __init__(self, settings: Settings, options: dict):
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            if key in self.cfg.settings:  # older gunicorn lacks some settings
                self.cfg.set(key, value)

    def load(self):
        from bot.web import create_wsgi

        return create_wsgi(self._settings)


def serve_http(settings: Settings, host: str, workers: int, threads: int, with_clock: bool) -> None:
    if not settings.oauth:
        from bot.app import check_bot_token

        check_bot_token(settings)  # here, so a bad token stops serve with one line, not a crash
    dispose_engines()  # connections opened before the fork must not be shared with workers

    def when_ready(_server):
        if with_clock:  # in the master process, so there is one clock however many workers
            from bot.clock import start_background

            start_background(settings)

    options = {
        "when_ready": when_ready,
        "bind": f"{host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if settings.log_level == "DEBUG" else None,
        "loglevel": settings.log_level.lower(),
        "logger_class": "bot.logs.GunicornLogger",  # redacts like every other log
        "proc_name": "worth-knowing",
        "control_socket_disable": True,
    }
    _Gunicorn(settings, options).run()


def serve_socket_mode(settings: Settings, with_clock: bool) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app
    from bot.clock import start_background

    app = build_app(settings)
    url = _socket_mode_url(app.client, settings.app_token or "")
    if with_clock:
        start_background(settings)

    handler = SocketModeHandler(app, settings.app_token)
    handler.client.wss_uri = url  # the first connection; the client asks for later ones itself
    log.info("connecting to Slack in Socket Mode")
    handler.start()


def _socket_mode_url(client: WebClient, app_token: str) -> str:
    """The first WebSocket URL, asked for here so that a token Slack refuses is one clear line
    instead of the handler's logged error and traceback."""
    try:
        return client.apps_connections_open(app_token=app_token)["url"]
    except SlackApiError as error:
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({error.response.get('error', 'error')}): create an "
            "app-level token with connections:write under Basic Information > App-Level Tokens, "
            "and turn on Socket Mode"
        ) from None


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY", "1"))
