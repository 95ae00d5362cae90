"""`python -m bot serve` as a real process against the Slack double: health, signatures,
acknowledgements, events across worker processes; and the same app over Socket Mode."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import SIGNING_SECRET, AppProcess, app_env, wait_for
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_bolt.util.utils import get_name_for_callable
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import func, select
from test_meet_harness import DrainableExecutor, populate

from bot.common.config import load
from bot.domain.services import heartbeat
from bot.edge import home
from bot.edge.app import build_app
from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import Member, ProcessedEvent, Program, utcnow

pytestmark = pytest.mark.slow



NO_CLOCK = (
    "no clock has ticked in the last 90 s and this serve runs none (--no-clock, the "
    "default with PostgreSQL): no round starts until one runs. Run `python -m bot clock` "
    "beside serve (the Procfile's clock), or start serve with --with-clock"
)


def post_command(slack, app, text: str, **kwargs):
    url = slack.new_response_url()
    body, headers = signing.slash_command(
        SIGNING_SECRET, text, user_id="U1", channel_id="C1", response_url=url, **kwargs
    )
    return url, signing.post(app.url + "/slack/events", body, headers)


def test_health_signatures_and_help(slack, served):
    with urllib.request.urlopen(served.url + "/healthz", timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        health = json.loads(response.read())
    # --no-clock: no clock is expected of these processes, so none is waited for
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["clock"] == {"expected": False, "last_tick": None}
    # and no clock has ever ticked: serve says at start that no round will begin without one
    # (a SQLite install moved to PostgreSQL keeps its serve command, whose default changes)
    assert [line for line in served.output().splitlines() if NO_CLOCK in line and "WARNING" in line]

    _, (status, _, body) = post_command(slack, served, "help")
    assert status == 200 and "Worth Knowing" in body and "/meet status" in body

    body, headers = signing.slash_command(
        SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x"
    )
    assert (
        signing.post(served.url + "/slack/events", body, signing.bad_signature(headers))[0] == 401
    )
    no_signature = {k: v for k, v in headers.items() if k != "X-Slack-Signature"}
    assert signing.post(served.url + "/slack/events", body, no_signature)[0] == 401
    stale = signing.slash_command(
        SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x",
        timestamp=time.time() - 301,
    )  # fmt: skip
    assert signing.post(served.url + "/slack/events", *stale)[0] == 401
    wrong_secret = signing.slash_command(
        "not-the-secret", "help", user_id="U1", channel_id="C1", response_url="https://x"
    )
    assert signing.post(served.url + "/slack/events", *wrong_secret)[0] == 401
    assert "Traceback" not in served.output()


def test_serve_without_a_clock_says_nothing_alarming_while_a_clock_of_its_own_ticks(
    slack, settings, tmp_path
):
    heartbeat.record(settings.database_url, utcnow() - dt.timedelta(seconds=20))
    env = app_env(SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                  SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url)  # fmt: skip
    with AppProcess(env, tmp_path, ("--no-clock", "--workers", "1")) as app:
        pass
    assert NO_CLOCK not in app.output()
    assert "scheduled work is left to a clock process of its own (it ticked 0:00:2" in app.output()


def test_a_command_is_acknowledged_at_once_and_answered_through_the_response_url(slack, served):
    slack.latency = 0.3  # a slow Slack must not delay the acknowledgement
    started = time.monotonic()
    url, (status, _, body) = post_command(slack, served, "status")
    assert status == 200 and body == ""
    assert time.monotonic() - started < 1.0
    reply = wait_for(lambda: slack.responses(url))[0]
    assert reply["response_type"] == "ephemeral" and "<#C1>" in reply["text"]

    url, (status, _, body) = post_command(slack, served, "level 12")
    assert status == 200 and "is not a level" in body and "/meet level &lt;1-9&gt;" in body


def test_an_event_sent_many_times_to_two_workers_is_processed_once(slack, served, settings):
    event = {"type": "member_joined_channel", "user": "U5", "channel": "C1", "channel_type": "C"}
    now = time.time()
    # Slack signs each delivery anew (its own timestamp); retries also say which retry they are
    sendings = [
        signing.event_callback(
            SIGNING_SECRET, event, event_id="EvTwice", timestamp=now - i,
            retry_num=None if i % 2 else 1 + i // 2,
        )
        for i in range(12)
    ]  # fmt: skip
    with ThreadPoolExecutor(12) as pool:
        results = list(
            pool.map(lambda sent: signing.post(served.url + "/slack/events", *sent), sendings)
        )
    assert [r[0] for r in results] == [200] * 12
    wait_for(lambda: slack.calls("chat.postMessage"))
    time.sleep(0.5)
    assert len(slack.calls("chat.postMessage")) == 1
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


# -- Socket Mode ----------------------------------------------------------------------------------


def test_socket_mode_builds_the_same_app_and_answers_through_it(slack, settings):
    populate(slack)
    socket = load(
        {
            "SLACK_BOT_TOKEN": "xoxb-T1",
            "SLACK_APP_TOKEN": "xapp-1-A1-1-secret",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": settings.database_url,
        }
    )
    assert socket.socket_mode and socket.signing_secret is None
    executor = DrainableExecutor()
    socket_app = build_app(socket, listener_executor=executor, work_executor=executor)
    http_app = build_app(settings)

    def listeners(app):
        return [get_name_for_callable(listener.ack_function) for listener in app._listeners]

    assert listeners(socket_app) == listeners(http_app)
    assert len(listeners(socket_app)) >= 15
    handler = SocketModeHandler(socket_app, socket.app_token)  # constructing does not connect
    assert handler.client.web_client.base_url == slack.api_url

    # Socket Mode requests carry no signature; the same listeners answer them
    payload = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/meet",
        "text": "help",
        "response_url": slack.new_response_url(),
        "trigger_id": "1.2.3",
    }
    response = run_bolt_app(
        socket_app, SocketModeRequest(type="slash_commands", envelope_id="e1", payload=payload)
    )
    assert response.status == 200 and "/meet status" in response.body
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "EvSocket",
        "event": {"type": "user_change", "user": {"id": "U2", "deleted": True}},
    }
    for _ in range(2):
        response = run_bolt_app(
            socket_app, SocketModeRequest(type="events_api", envelope_id="e2", payload=event)
        )
        assert response.status == 200
    executor.drain()
    executor.shutdown()
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
        assert session.scalar(select(Member.deactivated).where(Member.user_id == "U2")) is True


def test_url_verification_buttons_and_the_settings_form_over_http(slack, served, settings):
    body, headers = signing.url_verification(SIGNING_SECRET, "challenge-123")
    status, _, text = signing.post(served.url + "/slack/events", body, headers)
    assert status == 200 and "challenge-123" in text

    with session_scope(settings.database_url) as session:
        program_id = session.scalar(select(Program.id))
    body, headers = signing.block_action(
        SIGNING_SECRET, home.PAUSE, str(program_id), user_id="U1", view={"type": "home"}
    )
    status, _, text = signing.post(served.url + "/slack/events", body, headers)
    assert status == 200 and text == ""
    view = wait_for(lambda: slack.home_view("T1", "U1"))
    assert "Paused in <#C1>" in json.dumps(view)

    values = {"timezone": {"value": "Nowhere/Land"}}
    body, headers = signing.view_submission(
        SIGNING_SECRET, home.SETTINGS_CALLBACK, values, user_id="UADMIN",
        private_metadata=json.dumps({"program": program_id}),
    )  # fmt: skip
    status, _, text = signing.post(served.url + "/slack/events", body, headers)
    assert status == 200
    answer = json.loads(text)
    assert answer["response_action"] == "errors" and "timezone" in answer["errors"]
