"""Running in production: JSON logs from every process, Prometheus metrics added up across
gunicorn's workers and the clock, and a `/healthz` that knows when the clock has stopped.

Most tests start the real `python -m bot serve` (two workers, its clock) against the Slack
double and look only at what an operator sees: its output, `/metrics` and `/healthz`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import signal
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from conftest import RATE_SCALE, SIGNING_SECRET, AppProcess, app_env, wait_for
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from test_log_redaction import EMAILS, people, secrets_in
from test_meet_harness import make_program

from bot.common import logs
from bot.domain.services import heartbeat
from bot.edge import home
from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import Group, Program, Round, utcnow

CLOCK_PID = re.compile(rb"clock process started \(pid (\d+)\)")


def _due_now(settings, program_id: int) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Program)
            .where(Program.id == program_id)
            .values(next_run_at=utcnow() - dt.timedelta(minutes=1))
        )


def _env(slack, settings, **more) -> dict[str, str]:
    return app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
        SLACK_RATE_SCALE=str(RATE_SCALE),
        CLOCK_TICK_SECONDS="1",
        **more,
    )


def _round_delivered(settings):
    with session_scope(settings.database_url) as session:
        round_ = session.scalar(select(Round))
        if round_ is None or round_.status != "delivered":
            return None
        posted = session.scalars(select(Group.id).where(Group.delivery == "posted")).all()
        return round_.id, len(posted)


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def _wsgi_get(app, path: str) -> tuple[str, dict, str]:
    """GET `path` from the WSGI app in this process: (status line, headers, body)."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return answer["status"], answer["headers"], body.decode()


def _samples(app: AppProcess) -> dict[tuple, float]:
    """/metrics as {(sample name, sorted labels): value}."""
    status, content_type, text = _get(app.url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _command(slack, app, text: str) -> int:
    body, headers = signing.slash_command(
        SIGNING_SECRET, text, user_id="U1", channel_id="C1", response_url=slack.new_response_url()
    )
    return signing.post(app.url + "/slack/events", body, headers)[0]


# -- JSON logs ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_with_log_format_json_every_line_of_every_process_is_a_json_object(
    slack, settings, tmp_path
):
    people(slack, "T1")  # emails and levels in profiles: they must not reach the logs
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1")
    _due_now(settings, program_id)
    env = _env(slack, settings, LOG_FORMAT="json", LOG_LEVEL="DEBUG")  # gunicorn's access log on
    with AppProcess(env, tmp_path, ("--with-clock", "--workers", "2")) as app:
        round_id, _ = wait_for(lambda: _round_delivered(settings), timeout=60)
        assert _command(slack, app, "help") == 200
        wait_for(lambda: b"/slack/events" in app.log_path.read_bytes())  # the access line
        output = app.output()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # each parses
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        dt.datetime.fromisoformat(line["time"])
    loggers = {line["logger"].split(".")[0] for line in lines}
    assert {"bot", "gunicorn", "apscheduler", "slack_sdk"} <= loggers, loggers
    assert any(line["logger"] == "gunicorn.access" for line in lines)
    # the clock's lines about the round name its workspace, program and round
    about_round = [line for line in lines if line.get("round_id") == round_id]
    assert about_round, "no line names the round"
    assert all(line["program_id"] == program_id and line["team_id"] == "T1" for line in about_round)
    # delivery opens the group DMs in threads of its own: they carry the ids too
    opens = [line for line in lines if "conversations.open" in line["message"]]
    assert opens and all(line.get("round_id") == round_id for line in opens)
    planned = [line for line in lines if "planned in C1" in line["message"]]
    assert planned and planned[0]["program_id"] == program_id and planned[0]["team_id"] == "T1"
    # a request's lines name its workspace
    assert any(
        line.get("team_id") == "T1" and "round_id" not in line and line["logger"] == "slack_bolt.App"
        for line in lines
    )
    assert secrets_in(output, [SIGNING_SECRET, "xoxb-T1", *EMAILS]) == []


def test_a_json_line_is_redacted_and_keeps_a_traceback_on_the_same_line(monkeypatch):
    monkeypatch.setattr(logs, "_format", "json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.protect([handler])
    logger = logging.getLogger("bot.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.context(team_id="T9", program_id=4):
            logs.note(round_id=17)
            try:
                raise RuntimeError("token=xoxb-9-9-zz\nfor ada.lovelace@acme.test")
            except RuntimeError:
                logger.exception("failed for %s", "bob@acme.test")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "failed for [email]" and first["level"] == "ERROR"
    assert (first["team_id"], first["program_id"], first["round_id"]) == ("T9", 4, 17)
    assert "RuntimeError" in first["exception"] and "xoxb-9" not in first["exception"]
    assert "ada.lovelace" not in first["exception"]
    assert second["message"] == "outside" and "team_id" not in second


def test_a_bad_log_format_is_one_line_naming_the_variable():
    from bot.common.config import ConfigError, load

    with pytest.raises(ConfigError, match="LOG_FORMAT is 'yaml'"):
        load({"LOG_FORMAT": "yaml"})
    with pytest.raises(ConfigError, match="METRICS is 'maybe'"):
        load({"METRICS": "maybe"})
    with pytest.raises(ConfigError, match="CLOCK_TICK_SECONDS is '0'"):
        from bot.jobs.clock import tick_seconds

        tick_seconds(env={"CLOCK_TICK_SECONDS": "0"})
    with pytest.raises(ConfigError, match="is 99999999999: use a whole number of seconds from 1 to 3600"):
        tick_seconds(99999999999)  # a whole number, but past the limit, which is said


# -- metrics --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_metrics_add_up_across_workers_and_the_clock(slack, settings, tmp_path):
    people(slack, "T1")
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1")
    _due_now(settings, program_id)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)  # the round's first intro
    slack.fail_next("conversations.open", status=503)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = _env(slack, settings, TMPDIR=str(temp))  # where serve makes its metrics directory
    app = AppProcess(env, tmp_path, ("--with-clock", "--workers", "2"))
    with app:
        _, posted = wait_for(lambda: _round_delivered(settings), timeout=60)
        commands = 12
        assert [_command(slack, app, "help") for _ in range(commands)] == [200] * commands
        body, headers = signing.block_action(
            SIGNING_SECRET, home.PAUSE, str(program_id), user_id="U1", view={"type": "home"}
        )
        assert signing.post(app.url + "/slack/events", body, headers)[0] == 200
        event = {"type": "member_joined_channel", "user": "U5", "channel": "C1"}
        assert signing.post(app.url + "/slack/events", *signing.event_callback(
            SIGNING_SECRET, event, event_id="EvM1"))[0] == 200  # fmt: skip
        forged = signing.bad_signature(signing.slash_command(
            SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x")[1])  # fmt: skip
        assert signing.post(app.url + "/slack/events", body, forged)[0] == 401

        (directory,) = list(temp.iterdir())
        pids = {int(m) for m in re.findall(r"_(\d+)\.db", " ".join(os.listdir(directory)))}
        assert len(pids) >= 3, "two workers and the clock each write their own counts"
        samples = wait_for(lambda: _ticked_twice(app))
        assert samples[("worth_knowing_requests_total", (("kind", "command"), ("status", "200")))] == commands
        assert samples[("worth_knowing_requests_total", (("kind", "action"), ("status", "200")))] == 1
        assert samples[("worth_knowing_requests_total", (("kind", "event"), ("status", "200")))] == 1
        assert samples[("worth_knowing_requests_total", (("kind", "unknown"), ("status", "401")))] == 1
        assert samples[("worth_knowing_ack_seconds_count", (("kind", "command"),))] == commands
        # the clock's own process: the round it ran, its ticks, what was due
        assert samples[("worth_knowing_rounds_started_total", ())] == 1
        assert posted >= 2
        assert samples[("worth_knowing_groups_delivered_total", ())] == posted
        assert samples[("worth_knowing_clock_tick_seconds_count", ())] >= 2
        method = (("method", "chat.postMessage"),)
        assert samples[("worth_knowing_slack_rate_limited_total", method)] == 1
        assert samples[("worth_knowing_slack_retries_total", (*method, ("reason", "rate_limited")))] == 1
        assert samples[("worth_knowing_slack_retries_total", (
            ("method", "conversations.open"), ("reason", "server_error")))] == 1  # fmt: skip
        assert ("worth_knowing_due_work", (("kind", "rounds"),)) in samples
        text = _get(app.url + "/metrics")[2]
        for private in ("U1", "UADMIN", "C1", "lunch", "T1", *EMAILS):
            assert not re.search(rf"[\"=]{private}\b", text), private

        # a clock that dies is restarted; its live gauge goes, its counts stay
        old_clock = int(CLOCK_PID.findall(app.log_path.read_bytes())[0])
        assert any(f"_{old_clock}.db" in name for name in os.listdir(directory))
        os.kill(old_clock, signal.SIGKILL)
        wait_for(lambda: len(CLOCK_PID.findall(app.log_path.read_bytes())) == 2)
        assert not any(name.endswith(f"livemax_{old_clock}.db") for name in os.listdir(directory))
        assert _samples(app)[("worth_knowing_rounds_started_total", ())] == 1
    assert list(temp.iterdir()) == [], "serve removes its metrics directory when it stops"
    assert "Traceback" not in app.output(), app.output()


def _ticked_twice(app):
    """Both of a tick's figures: its count goes up a moment before its duration is observed."""
    samples = _samples(app)
    counts = ("worth_knowing_clock_ticks_total", "worth_knowing_clock_tick_seconds_count")
    return samples if all(samples.get((name, ()), 0) >= 2 for name in counts) else None


def test_metrics_off_answer_404_and_a_failed_group_is_counted_by_slack_error(slack, settings):
    from bot.common import metrics
    from bot.edge.web import create_wsgi

    before = _value(metrics.GROUPS_FAILED.labels("channel_not_found"))
    metrics.group_failed("channel_not_found")
    metrics.group_failed("<@U1> Ada Lovelace")  # never a label: counted as other
    status, _, text = _wsgi_get(create_wsgi(settings), "/metrics")
    assert status == "200 OK"
    assert f'worth_knowing_groups_failed_total{{error="channel_not_found"}} {before + 1}' in text
    assert "Ada" not in text and 'error="other"' in text

    off = replace(settings, metrics=False)
    assert _wsgi_get(create_wsgi(off), "/metrics")[0].startswith("404")


def _value(child) -> float:
    return child._value.get()


# -- health ---------------------------------------------------------------------------------------


def _health(app) -> tuple[int, dict]:
    status, headers, body = _wsgi_get(app, "/healthz")
    assert headers["Content-Type"] == "application/json"
    return int(status[:3]), json.loads(body)


def test_health_is_503_after_three_missed_ticks_of_the_expected_clock(settings):
    from bot.edge.web import create_wsgi

    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    app = create_wsgi(settings, clock_tick=30, started_at=start)
    with freeze_time(start + dt.timedelta(seconds=60)):
        status, body = _health(app)  # no tick yet: a starting clock is not late
        assert status == 200 and body["clock"]["status"] == "ok"
        assert body["clock"]["last_tick"] is None and body["database"] == "ok"
    # a tick from before serve started (yesterday's clock): counted from the start instead
    heartbeat.record(settings.database_url, start - dt.timedelta(hours=20), 30)
    with freeze_time(start + dt.timedelta(seconds=60)):
        status, body = _health(app)
        assert status == 200 and body["clock"]["seconds_since_last_tick"] == 72060.0
    with freeze_time(start + dt.timedelta(seconds=96)):
        status, body = _health(app)  # but 3 ticks after the start it is late
        assert status == 503 and body["clock"]["status"] == "late"

    heartbeat.record(settings.database_url, start + dt.timedelta(seconds=100), 30)
    with freeze_time(start + dt.timedelta(seconds=100 + 90 + 5)):  # the 3rd tick just due
        status, body = _health(app)
        assert status == 200 and body["status"] == "ok"
        assert body["clock"]["seconds_since_last_tick"] == 95.0
        assert body["clock"]["tick_seconds"] == 30
    with freeze_time(start + dt.timedelta(seconds=100 + 96)):
        status, body = _health(app)
        assert status == 503 and body["status"] == "unavailable"
        assert body["clock"] == {
            "expected": True, "last_tick": "2026-03-02T09:01:40+00:00",
            "seconds_since_last_tick": 96.0, "tick_seconds": 30, "status": "late",
        }  # fmt: skip

    # a clock that ticks every 5 s is late sooner; one not expected here never makes it 503
    heartbeat.record(settings.database_url, start + dt.timedelta(seconds=200), 5)
    with freeze_time(start + dt.timedelta(seconds=200 + 21)):
        assert _health(app)[0] == 503
        no_clock = create_wsgi(settings, started_at=start)
        status, body = _health(no_clock)
        assert status == 200 and body["clock"]["expected"] is False
        assert body["clock"]["seconds_since_last_tick"] == 21.0


def test_health_is_503_when_the_database_is_unavailable(settings, tmp_path):
    from bot.edge.web import create_wsgi

    app = create_wsgi(settings)
    gone = replace(settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    status, body = _health(create_wsgi(gone))
    assert status == 503 and body == {"status": "unavailable", "database": "unavailable"}
    assert _health(app)[0] == 200


@pytest.mark.slow
def test_a_stopped_clock_makes_health_503_and_a_running_one_200_again(slack, settings, tmp_path):
    env = _env(slack, settings)  # the clock ticks every second: late after about 4 s
    clock = None
    with AppProcess(env, tmp_path, ("--with-clock",)) as app:
        try:
            wait_for(lambda: _get(app.url + "/healthz")[2].count("seconds_since_last_tick"))
            status, _, text = _get(app.url + "/healthz")
            assert status == 200 and json.loads(text)["clock"]["tick_seconds"] == 1
            clock = int(CLOCK_PID.findall(app.log_path.read_bytes())[0])
            os.kill(clock, signal.SIGSTOP)  # alive, so serve does not restart it, but silent
            wait_for(lambda: _get(app.url + "/healthz")[0] == 503, timeout=15)
            body = json.loads(_get(app.url + "/healthz")[2])
            assert body["clock"]["status"] == "late" and body["database"] == "ok"
            assert body["clock"]["seconds_since_last_tick"] > 3
            os.kill(clock, signal.SIGCONT)
            clock = None
            wait_for(lambda: _get(app.url + "/healthz")[0] == 200, timeout=15)
        finally:
            if clock is not None:
                os.kill(clock, signal.SIGCONT)
