"""The HTTP edge: Slack's requests go to Bolt, `/healthz` tells a load balancer we are alive."""

from __future__ import annotations

import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import build_app
from bot.config import Settings
from bot.db import ping

log = logging.getLogger(__name__)


def create_wsgi(settings: Settings):
    handler = SlackRequestHandler(build_app(settings), path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            return _health(settings, start_response)
        return handler(environ, start_response)

    return application


def _health(settings: Settings, start_response):
    try:
        ping(settings.database_url)
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check failed: %s", error)
        body, status = b"database unavailable\n", "503 Service Unavailable"
    else:
        body, status = b"ok\n", "200 OK"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
