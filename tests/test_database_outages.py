"""The app against a database that goes away and comes back (PostgreSQL restarting, a
connection dropped), or a process killed between a message and its record: nobody hears
anything twice, the work resumes, and the logs say it in a line."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys

import pytest
import test_clock
from conftest import app_env, run_cli, wait_for
from sqlalchemy import select

from bot.storage.db import session_scope
from bot.storage.models import Program, Round, utcnow


@pytest.fixture
def alone(slack, settings):
    """A program whose channel has one person: each round, they are told they have no group."""
    slack.add_user("T1", "UA", tz="Europe/Madrid")
    slack.add_channel("T1", "C6", "lunch", members=["UA", "UBOT"])
    with session_scope(settings.database_url) as session:
        session.add(Program(team_id="T1", channel_id="C6"))
    return app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url, SLACK_RATE_SCALE="1000",
    )


def told_unmatched(slack) -> list:
    return [call for call in slack.calls("chat.postMessage") if call.args.get("channel") == "UA"]


def round_statuses(settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Round.status)))


def start_round(env: dict, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "round", "C6"], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip



def resumed_telling_once(settings, slack, env, tmp_path) -> None:
    """The round run again finishes, and the person without a group was told once in all."""
    again = run_cli("round", "C6", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(told_unmatched(slack)) == 1
    assert round_statuses(settings) == ["delivered"]

def test_unmatched_is_told_once_when_the_database_goes_away_as_the_message_leaves(
    settings, slack, alone, database_outage, tmp_path
):
    """The message reached Slack, then its record could not be written: the next run of the
    round used to tell the person a second time."""
    env = {**alone, "DATABASE_URL": database_outage.url(settings.database_url)}
    slack.slow_next("chat.postMessage", 2)  # Slack has the message; its answer is on the way
    process = start_round(env, tmp_path)
    try:
        wait_for(lambda: told_unmatched(slack), timeout=60)
        database_outage.down()
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 2, err
    assert "Traceback" not in err, err  # one line, and what stands is resumed by a new run
    assert err.splitlines()[-1].startswith("error: cannot use the database at DATABASE_URL")
    database_outage.up()
    resumed_telling_once(settings, slack, env, tmp_path)


def test_unmatched_is_told_once_when_the_round_is_killed_as_the_message_leaves(
    settings, slack, alone, tmp_path
):
    slack.slow_next("chat.postMessage", 2)
    process = start_round(alone, tmp_path)
    try:
        wait_for(lambda: told_unmatched(slack), timeout=60)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    resumed_telling_once(settings, slack, alone, tmp_path)


def test_a_clock_that_loses_its_database_says_so_in_a_line_and_goes_on_once_it_is_back(
    settings, slack, database_outage, tmp_path
):
    """A PostgreSQL restart under a running clock: each tick and heartbeat while it is away
    used to log two tracebacks of some seventy lines each."""
    test_clock.slack_workspace(slack, ["CA"])
    env = {**test_clock.clock_env(settings, slack),
           "DATABASE_URL": database_outage.url(settings.database_url)}  # fmt: skip
    clocks = test_clock.start_clocks(1, env, tmp_path)
    path = clocks[0][2]
    try:
        test_clock.wait_for(lambda: "clock started" in path.read_text(), clocks)
        database_outage.down()
        test_clock.wait_for(lambda: path.read_text().count("could not note the tick") >= 3, clocks)
        slot = utcnow().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
        program = test_clock.weekly_program_due_at(settings, "CA", slot)
        database_outage.up()
        test_clock.wait_for(
            lambda: test_clock.rounds_by_program(settings) == {program: [(slot, "delivered")]},
            clocks,
        )
    finally:
        (log,) = test_clock.stop_clocks(clocks)
    assert "Traceback" not in log, log
    assert "the database is out of reach" in log
    assert "clock stopped" in log
    intros = [m for m in slack.messages() if (m.metadata or {}).get("event_type")]
    assert len(intros) == 2  # the round's pair and trio, once each
