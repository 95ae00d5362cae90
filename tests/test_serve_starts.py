"""`python -m bot serve` with default settings starts every time and keeps time itself.

With SQLite, serve runs scheduled work too, in a clock process of its own that it supervises:
nothing that forks (gunicorn's master) holds a thread, a scheduler or a database connection,
so a worker never inherits a lock held mid-tick. Every third start (with 1 or 3 workers) has
a round due at once, so the clock is busy in the database while gunicorn forks its workers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SIGNING_SECRET, AppProcess, app_env, stop_mid_round
from sqlalchemy import func, select, update
from test_meet_harness import make_program, populate

from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import Program, Round, utcnow

pytestmark = pytest.mark.slow

STARTS = 12
CLOCK_PID = re.compile(rb"clock process started \(pid (\d+)\)")


def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _clock_pids(app: AppProcess) -> list[int]:
    return [int(pid) for pid in CLOCK_PID.findall(app.log_path.read_bytes())]


def _help(slack, app: AppProcess) -> tuple[int, str]:
    body, headers = signing.slash_command(
        SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url=slack.new_response_url()
    )
    status, _, text = signing.post(app.url + "/slack/events", body, headers, timeout=5)
    return status, text


def _make_due(settings, program_id: int) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Program)
            .where(Program.id == program_id)
            .values(next_run_at=utcnow() - dt.timedelta(minutes=1))
        )


def _rounds(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(Round))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_serve_with_default_settings_answers_every_start_and_leaves_no_clock(
    slack, settings, tmp_path
):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the clock runs inside serve by default only with SQLite")
    populate(slack)
    program_id = make_program(settings, "C1")
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
        SLACK_RATE_SCALE="1000",
    )
    failures = []
    for start in range(STARTS):
        if start % 3 == 0:  # the clock has work at once, while workers fork
            _make_due(settings, program_id)
        workers = "3" if start % 2 else "1"  # and SIGINT or SIGTERM, see below
        app = AppProcess({**env, "WEB_CONCURRENCY": workers}, tmp_path)
        try:
            app.start(timeout=20)
            threads = len(os.listdir(f"/proc/{app.process.pid}/task"))
            assert threads == 1, f"gunicorn's master, which forks, runs {threads} threads"
            status, text = _help(slack, app)
            if status != 200 or "/meet status" not in text:
                failures.append((start, f"/meet help answered {status}"))
            if start == 0:  # the due round runs without any extra command
                deadline = time.monotonic() + 60  # generous: a loaded machine is slow to start
                while _rounds(settings) == 0 and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert _rounds(settings) >= 1, app.output()
        except RuntimeError as error:  # did not answer /healthz in time
            failures.append((start, str(error)[:2000]))
        finally:
            if start % 4 >= 2 and app.process and app.process.poll() is None:  # Ctrl-C
                app.process.send_signal(signal.SIGINT)
            app.stop()
            clocks = _clock_pids(app)
            outlived = [pid for pid in clocks if _alive(pid)]
            for pid in outlived:  # never leave a clock ticking, whatever failed above
                os.kill(pid, signal.SIGKILL)
        assert len(clocks) == 1, app.output()
        assert not outlived, f"start {start}: clock {clocks[0]} outlived serve"
        assert "Traceback" not in app.output(), app.output()
    assert failures == []


def test_the_clock_is_restarted_when_it_dies_and_stops_when_serve_is_killed(
    slack, settings, tmp_path
):
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
    )
    with AppProcess(env, tmp_path, ("--with-clock",)) as app:  # the default with SQLite
        deadline = time.monotonic() + 10
        while not _clock_pids(app) and time.monotonic() < deadline:
            time.sleep(0.05)
        first = _clock_pids(app)[0]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while len(_clock_pids(app)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_clock_pids(app)) == 2, app.output()
        assert "clock process was stopped by signal 9; restarting" in app.output()
        second = _clock_pids(app)[1]
        assert second != first and _alive(second)
        with urllib.request.urlopen(app.url + "/healthz", timeout=5) as response:
            assert response.status == 200

        # serve dies without a chance to stop its clock: the clock notices and stops itself
        os.kill(app.process.pid, signal.SIGKILL)
        app.process.wait()
        deadline = time.monotonic() + 10
        while _alive(second) and time.monotonic() < deadline:
            time.sleep(0.05)
        outlived = _alive(second)
        if outlived:
            os.kill(second, signal.SIGKILL)
        assert not outlived, "the clock outlived a killed serve"


def test_a_clock_stopped_mid_round_finishes_the_round_first(slack, settings, tmp_path):
    """SIGTERM (serve stopping its clock) lets the round under way deliver, without a
    traceback: the process must not exit, and so refuse new threads, in the middle of it."""
    populate(slack)
    program_id = make_program(settings, "C1")
    _make_due(settings, program_id)
    slack.latency = 0.2  # each Slack call is slow, so the round is still going when stopped
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
        SLACK_RATE_SCALE="1000",
    )
    _code, output = stop_mid_round(("clock",), env, tmp_path, signal.SIGTERM)
    assert "Traceback" not in output, output
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Round.status)) == "delivered", output
    assert slack.messages()  # the intros went out


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _answers_help(slack, app: AppProcess) -> bool:
    try:
        return _help(slack, app)[0] == 200
    except OSError:  # no worker has taken the connection yet
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads a process's children from /proc")
def test_workers_started_again_while_slack_is_down_boot_and_serve_goes_on(
    slack, settings, tmp_path
):
    """gunicorn replaces a worker that died (killed for its memory, a crash). Each new worker
    asked Slack to check the token as it booted: with Slack answering 503 just then, it could
    not boot, and gunicorn stopped the whole server ("Worker failed to boot"), the healthy
    workers with it. serve checked the token before starting its workers; they use that."""
    populate(slack)
    make_program(settings, "C1")
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url,
    )  # fmt: skip
    with AppProcess(env, tmp_path, ("--no-clock", "--workers", "2")) as app:
        deadline = time.monotonic() + 30  # ready once one answers; gunicorn forks the other
        while len(workers := _children(app.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2
        slack.fail_next("auth.test", status=503, count=10_000)  # Slack in trouble from now on
        for worker in workers:
            os.kill(worker, signal.SIGKILL)

        def replaced() -> bool:  # gunicorn starts the two new workers one after the other
            new = _children(app.process.pid)
            return len(new) == 2 and not set(new) & set(workers)

        deadline = time.monotonic() + 60
        while app.process.poll() is None and not (replaced() and _answers_help(slack, app)):
            assert time.monotonic() < deadline, app.output()
            time.sleep(0.2)
        assert app.process.poll() is None, app.output()  # serve is still up, two new workers
        assert all(_answers_help(slack, app) for _ in range(4))
    assert "Worker failed to boot" not in app.output()
