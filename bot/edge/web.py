"""The HTTP edge: Slack's requests go to Bolt, `/healthz` tells a load balancer whether the
database and the clock are alive (JSON; 503 when not), `/metrics` is for Prometheus.

A POST to /slack/events reaches Bolt only once its raw body passed the signature check and
its signature was never seen before (bot/edge/signatures.py); anything else is a 401 here, so no
forged body is ever parsed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from concurrent.futures import Executor

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import extract_team_id
from slack_bolt.response import BoltResponse
from slack_sdk.web import SlackResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.common import logs, metrics
from bot.common.config import Settings
from bot.domain.services import health
from bot.edge.app import build_app
from bot.edge.bolt_request import NotFromSlack, bolt_request
from bot.edge.http_worker import MAX_BODY_BYTES
from bot.edge.signatures import RefusalLog, SeenSignatures, refusal
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
KIND = "worth_knowing.kind"  # where dispatch leaves the request's kind for the metrics
# Slack's payload types, by the kind of request they are counted as.
_KINDS = {
    "event_callback": "event",
    "url_verification": "event",
    "app_rate_limited": "event",
    "block_actions": "action",
    "block_suggestion": "action",
    "interactive_message": "action",
    "shortcut": "action",
    "message_action": "action",
    "view_submission": "view",
    "view_closed": "view",
}


def kind_of(body: dict) -> str:
    """command, action, view or event (unknown for anything else)."""
    if "command" in body:
        return "command"
    return _KINDS.get(str(body.get("type")), "unknown")


class _Handler(SlackRequestHandler):
    """Bolt's WSGI adapter, but a signed body Bolt cannot parse (`{`, `payload=notjson`, not
    UTF-8) or of a shape Slack never sends (bot/edge/payload_shape.py) is a 400 with one log
    line: only the parsing is guarded, never the listeners."""

    def dispatch(self, request) -> BoltResponse:
        try:
            read = bolt_request(
                request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        except Exception as error:  # noqa: BLE001 - signed, yet not a request Bolt can read
            why = str(error) if isinstance(error, NotFromSlack) else type(error).__name__
            log.warning("answered 400 to a signed request Bolt could not read (%s)", why)
            return BoltResponse(status=400, body="malformed request")
        body = read.body
        request.environ[KIND] = kind_of(body)
        with logs.context(team_id=extract_team_id(body)):
            return self.app.dispatch(read)


def create_wsgi(
    settings: Settings,
    *,
    clock_tick: int | None = None,
    started_at: dt.datetime | None = None,
    pools: tuple[Executor, Executor] | None = None,
    identity: SlackResponse | None = None,
):
    """The WSGI app. `clock_tick`: the tick of the clock this deployment runs, whose silence
    makes /healthz answer 503 (None: no clock expected of these processes). `pools`: the
    listeners' and the work's, for a caller that must stop them itself (the demo).
    `identity`: the bot token's auth.test answer, when the caller has it (build_app)."""
    listening, work = pools or (None, None)
    app = build_app(
        settings, listener_executor=listening, work_executor=work, identity=identity
    )
    handler = _Handler(app, path=EVENTS_PATH)
    seen = SeenSignatures(settings.database_url)
    refusals = RefusalLog()
    started_at = started_at or utcnow()

    def events(environ, start_response):
        arrived = time.perf_counter()
        statuses: list[str] = []

        def noting(status, headers, exc_info=None):
            statuses.append(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        answer = _admit(settings, seen, refusals, environ)
        if answer is not None:
            result = _plain(noting, *answer)
        else:
            result = handler(environ, noting)
        status = statuses[-1] if statuses else "500"
        metrics.request_answered(environ.get(KIND, "unknown"), status, time.perf_counter() - arrived)
        return result

    def application(environ, start_response):
        path = environ.get("PATH_INFO")
        # A load balancer's HEAD probe: the headers GET would get, and no body (a body sent
        # anyway made gunicorn log a warning at every probe).
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if path == "/healthz":
            healthy, body = health.report(
                settings.database_url, clock_tick=clock_tick, started_at=started_at
            )
            status = "200 OK" if healthy else "503 Service Unavailable"
            text = json.dumps(body) + "\n"
            return _send(start_response, status, "application/json", text, head=head)
        if path == "/metrics":
            if not settings.metrics:  # METRICS=off
                return _plain(start_response, "404 Not Found", "not found")
            text, content_type = metrics.exposition()
            return _send(start_response, "200 OK", content_type, text, head=head)
        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return events(environ, start_response)
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
    return _send(start_response, status, "text/plain", text + "\n")


def _send(start_response, status: str, content_type: str, body: str | bytes, head=False):
    data = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [] if head else [data]
