"""Socket Mode end to end: `python -m bot serve` with SLACK_APP_TOKEN as a real process, on a
real WebSocket from the Slack double, answering commands, buttons and events as it does over
HTTP, and moving to a new connection when Slack recycles the old one."""

from __future__ import annotations

import json
import signal
import time
from urllib.parse import parse_qs, parse_qsl

import pytest
from conftest import AppProcess, app_env, run_cli, stop_mid_round, wait_for
from sqlalchemy import select
from test_meet_harness import make_program, populate
from test_serve_starts import _make_due

from bot.edge import home
from bot.sandbox import signing
from bot.slack import texts
from bot.storage.db import session_scope
from bot.storage.models import Program, Round

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-1-A1-1-socket"
UNSIGNED = "unused"  # Socket Mode payloads carry the same fields as HTTP requests, unsigned


class SocketModeApp(AppProcess):
    """`serve` in Socket Mode listens on no port: it is ready once the double has its WebSocket."""

    def __init__(self, env: dict[str, str], cwd, slack):
        super().__init__(env, cwd, ("--no-clock",))
        self.slack = slack

    def ready(self) -> bool:
        return any(connection.active for connection in self.slack.socket_connections())


@pytest.fixture
def socket_app(slack, settings, tmp_path):
    """The app in its own process, one workspace, a program in #lunch, no signing secret."""
    populate(slack)
    make_program(settings, "C1")
    slack.add_app_token(APP_TOKEN, team_id="T1")
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
    )
    with SocketModeApp(env, tmp_path, slack) as app:
        yield app


def send_command(slack, text: str, user_id: str = "U1") -> tuple[str, str]:
    """A `/meet` command pushed down the WebSocket: (envelope id, its response_url)."""
    url = slack.new_response_url()
    body, _ = signing.slash_command(
        UNSIGNED, text, user_id=user_id, channel_id="C1", response_url=url
    )
    return slack.socket_send("slash_commands", dict(parse_qsl(body.decode()))), url


def send_event(slack, event: dict) -> str:
    body, _ = signing.event_callback(UNSIGNED, event)
    return slack.socket_send("events_api", json.loads(body))


def send_click(slack, action_id: str, value: str, user_id: str = "U1") -> str:
    body, _ = signing.block_action(
        UNSIGNED, action_id, value, user_id=user_id, view={"type": "home"}
    )
    return slack.socket_send("interactive", json.loads(parse_qs(body.decode())["payload"][0]))


def home_text(slack) -> str:
    return json.dumps(wait_for(lambda: slack.home_view("T1", "U1")))


def test_commands_buttons_and_events_over_the_websocket_and_after_a_reconnect(
    slack, socket_app, settings
):
    opened = slack.calls("apps.connections.open")
    assert [(call.token, call.ok) for call in opened] == [(APP_TOKEN, True)]
    assert [connection.active for connection in slack.socket_connections()] == [True]

    # help is the acknowledgement itself, word for word what HTTP answers
    envelope, _ = send_command(slack, "help")
    acks = wait_for(lambda: slack.socket_acks(envelope))
    assert acks == [{"envelope_id": envelope, "payload": {"text": texts.HELP}}]

    # status is acknowledged empty, then answered through the response_url
    envelope, url = send_command(slack, "status")
    assert wait_for(lambda: slack.socket_acks(envelope)) == [{"envelope_id": envelope}]
    reply = wait_for(lambda: slack.responses(url))[0]
    assert reply["response_type"] == "ephemeral"
    assert "<#C1>" in reply["text"] and "Next round:" in reply["text"]

    # opening the Home tab publishes it; its Pause button works
    envelope = send_event(
        slack, {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    )
    assert wait_for(lambda: slack.socket_acks(envelope)) == [{"envelope_id": envelope}]
    wait_for(lambda: slack.calls("views.publish"))
    assert "<#C1>" in home_text(slack)
    with session_scope(settings.database_url) as session:
        program_id = session.scalar(select(Program.id))
    envelope = send_click(slack, home.PAUSE, str(program_id))
    assert wait_for(lambda: slack.socket_acks(envelope)) == [{"envelope_id": envelope}]
    wait_for(lambda: "Paused in <#C1>" in home_text(slack))

    # Slack recycles the connection: the app asks for a new URL and connects again (the double
    # then closes the old connection); the next command is answered on the new one
    slack.socket_disconnect("refresh_requested")
    wait_for(lambda: [c.active for c in slack.socket_connections()] == [False, True])
    assert [call.token for call in slack.calls("apps.connections.open")] == [APP_TOKEN] * 2
    envelope, url = send_command(slack, "status")
    assert wait_for(lambda: slack.socket_acks(envelope)) == [{"envelope_id": envelope}]
    reply = wait_for(lambda: slack.responses(url))[0]
    assert "<#C1>" in reply["text"] and "You're paused through" in reply["text"]

    assert socket_app.process.poll() is None
    assert "Traceback" not in socket_app.output()


def test_a_refused_app_token_stops_serve_with_one_clear_line(slack, database_url, tmp_path):
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_APP_TOKEN="xapp-1-A1-1-unknown",  # never registered with the double
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
    )
    result = run_cli("serve", "--no-clock", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token with "
        "connections:write under Basic Information > App-Level Tokens, and turn on Socket Mode"
    ]
    assert "Traceback" not in result.stdout + result.stderr and "ERROR" not in result.stderr
    assert [call.error for call in slack.calls("apps.connections.open")] == ["invalid_auth"]
    assert slack.socket_connections() == []


# -- stopping, and Slack refusing or failing ----------------------------------------------------

AUTH_TEST = {
    "ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "worth_knowing",
    "team_id": "T1", "user_id": "UBOT", "bot_id": "BT1", "is_enterprise_install": False,
}  # fmt: skip


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_socket_mode_serve_stopped_mid_round_finishes_the_round_and_exits_cleanly(
    slack, settings, tmp_path, stop_signal
):
    """With SQLite, Socket Mode `serve` runs the clock in its own process. Stopped as `docker
    stop`/systemd (SIGTERM) or Ctrl-C (SIGINT) stop it, it must do what serve's clock child does
    over HTTP (test_a_clock_stopped_mid_round_finishes_the_round_first): finish the round under
    way, then exit without a traceback."""
    populate(slack)
    program_id = make_program(settings, "C1")
    _make_due(settings, program_id)
    slack.add_app_token(APP_TOKEN, team_id="T1")
    slack.latency = 0.2  # each Slack call is slow, so the round is still going when stopped
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
        SLACK_RATE_SCALE="1000",
        CLOCK_TICK_SECONDS="1",
    )
    # Ctrl-C reaches the whole process group, the clock child too, as in a terminal
    code, output = stop_mid_round(("serve", "--with-clock"), env, tmp_path, stop_signal,
                                  group=stop_signal == signal.SIGINT)  # fmt: skip
    assert "Traceback" not in output, output
    assert code == 0, f"exit code {code}\n{output}"
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Round.status)) == "delivered", output
    assert slack.messages()  # the intros went out


def test_an_app_token_revoked_while_connected_stops_serve_with_one_line(slack, socket_app):
    """The app-level token is revoked (or Socket Mode turned off) while serve is connected:
    Slack asks the app to move to a new connection, and apps.connections.open now refuses.
    No retry can ever succeed until the operator sets a new token and restarts, so serve
    should stop as it does at start-up (one line, exit code 2) so that its supervisor shows
    it, not stay up deaf with a traceback in its log."""
    slack.revoke_token(APP_TOKEN)
    slack.socket_disconnect("link_disabled")
    wait_for(lambda: [c.error for c in slack.calls("apps.connections.open")][-1:] == ["token_revoked"])
    deadline = time.monotonic() + 30
    while socket_app.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    output = socket_app.output()
    assert "Traceback" not in output, output
    assert socket_app.process.poll() == 2, f"serve still running / exit code:\n{output}"
    assert "error: Slack refused SLACK_APP_TOKEN (token_revoked)" in output


def test_slack_failing_at_start_in_socket_mode_is_not_blamed_on_the_app_token(
    slack, database_url, tmp_path
):
    """Slack answers apps.connections.open with HTTP 500 (an outage): the token is fine, yet
    serve says "Slack refused SLACK_APP_TOKEN (fatal_error): create an app-level token…"."""
    slack.add_app_token(APP_TOKEN, team_id="T1")
    slack.fail_next("apps.connections.open", status=500, count=100)
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
        SLACK_RATE_SCALE="1000",  # the retries' backoff, shortened
    )
    result = run_cli("serve", "--no-clock", env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "refused SLACK_APP_TOKEN" not in errors[0] and "create an app-level token" not in errors[0]


def test_slack_dropping_the_connection_at_start_in_socket_mode_is_one_line(
    dropping_slack, database_url, tmp_path
):
    """auth.test answers, then Slack drops every apps.connections.open (a network outage, a
    proxy): serve ends in a traceback (exit code 1) instead of the one line `cannot reach
    Slack …` that the same outage at auth.test gives."""
    dropping_slack.answers = [AUTH_TEST]  # serve's token check, whose answer Bolt keeps
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=dropping_slack.api_url,
        DATABASE_URL=database_url,
        SLACK_RATE_SCALE="1000",
    )
    result = run_cli("serve", "--no-clock", env=env, cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach Slack" in errors[0], result.stderr[-3000:]
