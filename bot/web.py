"""The HTTP edge: Slack's requests go to Bolt, `/healthz` tells a load balancer we are alive.

A POST to /slack/events reaches Bolt only once its raw body passed the signature check and
its signature was never seen before (bot/signatures.py); anything else is a 401 here, so no
forged body is ever parsed.
"""

from __future__ import annotations

import io
import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.app import build_app
from bot.bolt_request import bolt_request
from bot.config import Settings
from bot.db import ping
from bot.http_worker import MAX_BODY_BYTES
from bot.signatures import RefusalLog, SeenSignatures, refusal

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class _Handler(SlackRequestHandler):
    """Bolt's WSGI adapter, but a signed body Bolt cannot parse (`{`, `payload=notjson`, not
    UTF-8) is a 400 with one log line: only the parsing is guarded, never the listeners."""

    def dispatch(self, request) -> BoltResponse:
        try:
            read = bolt_request(
                request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        except Exception as error:  # noqa: BLE001 - signed, yet not a request Bolt can read
            log.warning("answered 400 to a signed request Bolt could not read (%s)",
                        type(error).__name__)  # fmt: skip
            return BoltResponse(status=400, body="malformed request")
        return self.app.dispatch(read)


def create_wsgi(settings: Settings):
    handler = _Handler(build_app(settings), path=EVENTS_PATH)
    seen = SeenSignatures(settings.database_url)
    refusals = RefusalLog()

    def application(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _health(settings, start_response)
        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            answer = _admit(settings, seen, refusals, environ)
            if answer is not None:
                return _plain(start_response, *answer)
        return handler(environ, start_response)

    return application


def _admit(settings: Settings, seen: SeenSignatures, refusals: RefusalLog, environ):
    """None if Bolt may have the request (its body put back for Bolt to read); otherwise
    the (status, text) to answer with."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "Content-Length is not a number"
    if length > MAX_BODY_BYTES:  # the worker refuses these before reading; other servers may not
        return "413 Content Too Large", "request body too large"
    # Exactly the body: a server may hand over the socket itself, where reading on would wait.
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    why = refusal(settings.signing_secret, timestamp, signature, body)
    if why is None:
        try:
            if not seen.first_time(signature, timestamp):
                why = "a signature already used (a replay)"
        except SQLAlchemyError as error:
            log.warning("cannot record a request signature: %s", type(error).__name__)
            return "503 Service Unavailable", "database unavailable"
    if why is not None:
        refusals.refused(why)
        return "401 Unauthorized", "invalid request signature"
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return None


def _plain(start_response, status: str, text: str):
    body = (text + "\n").encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _health(settings: Settings, start_response):
    try:
        ping(settings.database_url)
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check failed: %s", error)
        return _plain(start_response, "503 Service Unavailable", "database unavailable")
    return _plain(start_response, "200 OK", "ok")
