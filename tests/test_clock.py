"""The clock: each round once at its local time across a year and both DST changes, one
catch-up round after downtime (only inside the grace window), one query when nothing is due,
heads-ups and "you're back in" messages, and several clock processes running every round
exactly once."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import PG_URL, ROOT, app_env, run_cli, statements_run
from freezegun import freeze_time
from sqlalchemy import select

from bot.common.config import ConfigError
from bot.domain.services.due import reschedule
from bot.jobs.clock import Clock, grace_hours
from bot.storage.db import engine_for, session_scope
from bot.storage.models import Member, Participation, Program, Round, Workspace, utcnow

UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class Rounds:
    """Stands in for run_round: remembers which (program, slot) was started, and when."""

    def __init__(self, fail: set[int] | None = None):
        self.started: list[tuple[int, dt.datetime]] = []
        self.at: list[dt.datetime] = []
        self.fail = fail or set()

    def __call__(self, settings, program_id, slot):
        if program_id in self.fail:
            raise RuntimeError("Slack is down")
        self.started.append((program_id, slot))
        self.at.append(utcnow())


def make_program(settings, **fields) -> int:
    fields.setdefault("team_id", "T1")
    fields.setdefault("channel_id", "C1")
    with session_scope(settings.database_url) as session:
        program = Program(**fields)
        session.add(program)
        session.flush()
        return program.id


def next_run_at(settings, program_id) -> dt.datetime | None:
    with session_scope(settings.database_url) as session:
        return session.get(Program, program_id).next_run_at


# ---------------------------------------------------------------- a year, both DST changes


def expected_sundays_0230(zone_offsets, gap_day, gap_utc) -> list[dt.datetime]:
    """Every Sunday of 2026 at 02:30 local, worked out by hand from the DST dates."""
    slots = []
    day = dt.date(2026, 1, 4)
    while day.year == 2026:
        if day == gap_day:
            slots.append(gap_utc)
        else:
            offset = zone_offsets(day)
            slots.append(dt.datetime.combine(day, dt.time(2, 30), tzinfo=UTC) - offset)
        day += dt.timedelta(weeks=1)
    return slots


def test_a_year_of_weekly_rounds_each_once_at_the_local_time_across_both_dst_changes(settings):
    # 02:30 on Sundays is the hard case: it does not exist on the spring DST Sunday (it runs
    # at 03:30) and it happens twice on the autumn one (it runs at the first, once).
    berlin = make_program(
        settings, channel_id="CBER", weekday=6, time_of_day="02:30", timezone="Europe/Berlin"
    )
    new_york = make_program(
        settings, channel_id="CNYC", weekday=6, time_of_day="02:30", timezone="America/New_York"
    )

    def berlin_offset(day):  # CEST from 29 March through 25 October 2026 (first 02:30)
        return dt.timedelta(hours=2 if dt.date(2026, 3, 29) <= day <= dt.date(2026, 10, 25) else 1)

    def new_york_offset(day):  # EDT from 8 March; 1 November falls back at 02:00, before 02:30
        return dt.timedelta(hours=-4 if dt.date(2026, 3, 8) <= day < dt.date(2026, 11, 1) else -5)

    expected = {
        berlin: expected_sundays_0230(berlin_offset, dt.date(2026, 3, 29), utc(2026, 3, 29, 1, 30)),
        new_york: expected_sundays_0230(
            new_york_offset, dt.date(2026, 3, 8), utc(2026, 3, 8, 7, 30)
        ),
    }
    assert len(expected[berlin]) == 52
    # Berlin's fall-back Sunday: the first 02:30 (summer time), an hour before the second
    assert utc(2026, 10, 25, 0, 30) in expected[berlin]

    rounds = Rounds()
    with freeze_time("2026-01-01 00:00:00") as frozen:
        clock = Clock(settings, start_round=rounds)
        assert clock.tick().scheduled == 2
        moments = sorted(
            slot + delta
            for slots in expected.values()
            for slot in slots
            # just before, just after, and an hour later (when a repeated 02:30 comes again)
            for delta in (dt.timedelta(minutes=-1), dt.timedelta(minutes=1),
                          dt.timedelta(minutes=61))
        )
        for moment in moments:
            frozen.move_to(moment)
            clock.tick()

    for program_id in (berlin, new_york):
        started = [slot for p, slot in rounds.started if p == program_id]
        assert started == expected[program_id]  # each Sunday once, in order, at its slot
    # each round started within the tick after its slot, never before it
    for (_, slot), at in zip(rounds.started, rounds.at, strict=True):
        assert slot < at <= slot + dt.timedelta(minutes=1)
    assert next_run_at(settings, berlin) == utc(2027, 1, 3, 1, 30)


# ---------------------------------------------------------------- downtime


@pytest.fixture
def monday_noon_berlin(settings):
    """A weekly program whose clock scheduled Monday 2 February 2026, 12:00 Berlin (11:00 UTC),
    and then stopped running."""
    program_id = make_program(settings, weekday=0, time_of_day="12:00", timezone="Europe/Berlin")
    with freeze_time("2026-02-02 09:00"):
        Clock(settings, start_round=Rounds()).tick()
    assert next_run_at(settings, program_id) == utc(2026, 2, 2, 11)
    return program_id


def restart_at(settings, moment, **options) -> Rounds:
    """A fresh clock (nothing in memory) started at `moment`, ticking three times."""
    rounds = Rounds()
    with freeze_time(moment) as frozen:
        clock = Clock(settings, start_round=rounds, **options)
        for _ in range(3):
            clock.tick()
            frozen.tick(30)
    return rounds


def test_a_restarted_clock_runs_the_missed_round_once_inside_the_grace_window(
    settings, monday_noon_berlin
):
    rounds = restart_at(settings, "2026-02-02 14:00")  # three hours late
    assert rounds.started == [(monday_noon_berlin, utc(2026, 2, 2, 11))]
    assert next_run_at(settings, monday_noon_berlin) == utc(2026, 2, 9, 11)
    # restarting again finds nothing more to do
    assert restart_at(settings, "2026-02-02 14:05").started == []


def test_outside_the_grace_window_the_slot_is_skipped_and_the_log_says_why(
    settings, monday_noon_berlin, caplog
):
    rounds = restart_at(settings, "2026-02-03 12:00")  # 25 hours late
    assert rounds.started == []
    assert next_run_at(settings, monday_noon_berlin) == utc(2026, 2, 9, 11)
    assert re.search(r"no round for program \d+ .* 25 h ago .* 24 h grace window", caplog.text)


def test_after_weeks_down_only_the_latest_slot_catches_up(settings, monday_noon_berlin, caplog):
    rounds = restart_at(settings, "2026-02-23 13:00")  # three Mondays later, 2 h late
    assert rounds.started == [(monday_noon_berlin, utc(2026, 2, 23, 11))]
    assert "missed 3 slot(s)" in caplog.text
    assert next_run_at(settings, monday_noon_berlin) == utc(2026, 3, 2, 11)


def test_the_grace_window_is_configurable(settings, monday_noon_berlin):
    assert restart_at(settings, "2026-02-02 14:00", grace=dt.timedelta(hours=2)).started == []
    assert next_run_at(settings, monday_noon_berlin) == utc(2026, 2, 9, 11)


def test_grace_hours_from_the_flag_or_the_environment():
    assert grace_hours(None, env={}) == 24
    assert grace_hours(None, env={"CLOCK_GRACE_HOURS": "6"}) == 6
    assert grace_hours(2.5, env={"CLOCK_GRACE_HOURS": "6"}) == 2.5
    with pytest.raises(ConfigError, match="CLOCK_GRACE_HOURS is 'soon'"):
        grace_hours(None, env={"CLOCK_GRACE_HOURS": "soon"})
    with pytest.raises(ConfigError, match="--grace-hours"):
        grace_hours(-1, env={})


def test_a_bad_grace_setting_stops_the_clock_with_one_line(database_url):
    env = app_env(DATABASE_URL=database_url, CLOCK_GRACE_HOURS="a day", SLACK_BOT_TOKEN="xoxb-1")
    result = run_cli("clock", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: CLOCK_GRACE_HOURS is 'a day': set it to a number of hours such as 24 "
        "(how late a round may still start after the clock was down)"
    ]


# ---------------------------------------------------------------- once, whoever ticks


def test_two_clocks_never_start_the_same_slot(settings):
    program_id = make_program(settings, weekday=0, next_run_at=utc(2026, 2, 2, 11))
    inside, release = threading.Event(), threading.Event()
    started = []

    def slow_round(settings, program_id, slot):
        started.append((program_id, slot))
        inside.set()
        assert release.wait(10)

    now = utc(2026, 2, 2, 11, 0, 20)
    first = Clock(settings, start_round=slow_round)
    second = Clock(settings, start_round=slow_round)
    worker = threading.Thread(target=first.tick, args=(now,))
    worker.start()
    try:
        assert inside.wait(10)
        # while the first clock is inside the round, the second one leaves it alone
        assert second.tick(now).started == []
    finally:
        release.set()
        worker.join(10)
    assert second.tick(now + dt.timedelta(seconds=30)).started == []
    assert started == [(program_id, utc(2026, 2, 2, 11))]


def test_one_failing_program_does_not_stop_the_others_and_is_retried(settings, caplog):
    broken = make_program(settings, channel_id="C1", next_run_at=utc(2026, 2, 2, 12))
    fine = make_program(settings, channel_id="C2", next_run_at=utc(2026, 2, 2, 12))
    rounds = Rounds(fail={broken})
    clock = Clock(settings, start_round=rounds)
    now = utc(2026, 2, 2, 12, 0, 10)

    report = clock.tick(now)
    assert rounds.started == [(fine, utc(2026, 2, 2, 12))]
    assert report.failed == [(broken, utc(2026, 2, 2, 12))]
    assert "Slack is down" in caplog.text
    # nothing was planned, so the slot stays due; it is retried after a pause, not every tick
    assert next_run_at(settings, broken) == utc(2026, 2, 2, 12)
    assert clock.tick(now + dt.timedelta(seconds=30)).started == []
    rounds.fail.clear()
    assert clock.tick(now + dt.timedelta(seconds=70)).started == [(broken, utc(2026, 2, 2, 12))]
    assert next_run_at(settings, broken) == utc(2026, 2, 9, 12)


def test_a_refused_token_is_one_line_in_the_log_and_the_slot_is_tried_again(settings, caplog):
    from bot.domain.services.delivery import DeliveryStopped

    program_id = make_program(settings, next_run_at=utc(2026, 2, 2, 12))

    def refused(settings, program_id, slot):
        raise DeliveryStopped("token_revoked")  # as run_round raises it

    clock = Clock(settings, start_round=refused)
    report = clock.tick(utc(2026, 2, 2, 12, 0, 10))
    assert report.failed == [(program_id, utc(2026, 2, 2, 12))]
    assert re.search(r"round of program \d+ for .* waits: Slack refused the workspace's token "
                     r"\(token_revoked\); reinstall the app there", caplog.text)  # fmt: skip
    assert "Traceback" not in caplog.text
    assert next_run_at(settings, program_id) == utc(2026, 2, 2, 12)  # still due: tried again


def test_a_round_that_failed_after_planning_is_not_started_again(settings):
    program_id = make_program(settings, next_run_at=utc(2026, 2, 2, 12))

    def plan_then_fail(settings, program_id, slot):
        with session_scope(settings.database_url) as session:
            session.add(Round(program_id=program_id, slot=slot, status="delivering"))
        raise RuntimeError("connection reset while delivering")

    clock = Clock(settings, start_round=plan_then_fail, resume_deliveries=lambda s: 0)
    assert clock.tick(utc(2026, 2, 2, 12, 0, 10)).started == [(program_id, utc(2026, 2, 2, 12))]
    # the delivery is finished by resume_deliveries; the slot itself is done
    assert next_run_at(settings, program_id) == utc(2026, 2, 9, 12)


def test_switched_off_programs_and_uninstalled_workspaces_skip_their_slots(settings):
    off = make_program(settings, channel_id="C1", enabled=False, next_run_at=utc(2026, 2, 2, 12))
    gone = make_program(settings, team_id="T2", channel_id="C9", next_run_at=utc(2026, 2, 2, 12))
    with session_scope(settings.database_url) as session:
        session.add(Workspace(team_id="T2", active=False))
    rounds = Rounds()
    clock = Clock(settings, start_round=rounds)
    report = clock.tick(utc(2026, 2, 2, 12, 1))
    assert rounds.started == [] and len(report.skipped) == 2
    # switched on again after its slot passed: no surprise round now, the next one as usual
    with session_scope(settings.database_url) as session:
        session.get(Program, off).enabled = True
    assert clock.tick(utc(2026, 2, 2, 12, 30)).started == []
    assert clock.tick(utc(2026, 2, 9, 12, 0, 30)).started == [(off, utc(2026, 2, 9, 12))]
    assert next_run_at(settings, gone) == utc(2026, 2, 16, 12)  # kept moving, never ran


def test_a_changed_schedule_takes_effect_at_the_next_tick(settings):
    program_id = make_program(settings, weekday=0, time_of_day="12:00", timezone="Europe/Paris")
    rounds = Rounds()
    clock = Clock(settings, start_round=rounds)
    clock.tick(utc(2026, 2, 4, 8))  # Wednesday: next slot Monday 9th
    assert next_run_at(settings, program_id) == utc(2026, 2, 9, 11)
    with session_scope(settings.database_url) as session:  # what `/meet schedule` does
        program = session.get(Program, program_id)
        program.weekday, program.time_of_day = 3, "13:30"
        reschedule(program, utc(2026, 2, 4, 8, 5))
    clock.tick(utc(2026, 2, 5, 12, 31))  # Thursday 13:31 in Paris, same clock process
    assert rounds.started == [(program_id, utc(2026, 2, 5, 12, 30))]


def test_a_program_with_an_impossible_schedule_is_reported_once_and_others_run(settings, caplog):
    make_program(settings, channel_id="C1", timezone="Mars/Olympus_Mons")
    good = make_program(settings, channel_id="C2", weekday=0)
    rounds = Rounds()
    clock = Clock(settings, start_round=rounds)
    clock.tick(utc(2026, 2, 1))
    clock.tick(utc(2026, 2, 2, 12, 0, 30))
    assert rounds.started == [(good, utc(2026, 2, 2, 12))]
    assert caplog.text.count("schedule that cannot run") == 1


def test_a_stopping_clock_leaves_the_remaining_slots_due_for_the_next_one(settings):
    first = make_program(settings, channel_id="C1", next_run_at=utc(2026, 2, 2, 12))
    second = make_program(settings, channel_id="C2", next_run_at=utc(2026, 2, 2, 12, 30))
    clock = Clock(settings)
    started = []

    def round_then_sigterm(settings, program_id, slot):
        started.append(program_id)
        clock.stop()  # SIGTERM arrives while this round runs

    clock._start_round = round_then_sigterm
    clock.tick(utc(2026, 2, 2, 13))
    assert started == [first]
    assert next_run_at(settings, first) == utc(2026, 2, 9, 12)
    assert next_run_at(settings, second) == utc(2026, 2, 2, 12, 30)  # still due
    assert Clock(settings, start_round=Rounds()).tick(utc(2026, 2, 2, 13)).started == [
        (second, utc(2026, 2, 2, 12, 30))
    ]


# ---------------------------------------------------------------- cost of a quiet tick


def test_a_tick_with_nothing_due_is_one_indexed_query(settings):
    now = utc(2026, 2, 2, 12)
    program_id = make_program(settings, heads_up=True, next_run_at=now + dt.timedelta(days=2))
    make_program(settings, channel_id="C2", enabled=False, next_run_at=now + dt.timedelta(days=6))
    with session_scope(settings.database_url) as session:
        session.add(Round(program_id=program_id, slot=now - dt.timedelta(days=5),
                          status="delivered", checkin_at=now - dt.timedelta(days=2),
                          checkin_sent_at=now - dt.timedelta(days=2),
                          closes_at=now + dt.timedelta(days=2)))
        session.add(Member(team_id="T1", user_id="U1", values={}, sources={},
                           paused_until=dt.date(2026, 2, 10)))
        # through tomorrow: not over anywhere yet (in UTC+14 it is 02:00 on the 3rd)
        session.add(Participation(program_id=program_id, user_id="U2",
                                  paused_until=dt.date(2026, 2, 3)))
    clock = Clock(settings, start_round=Rounds())
    engine = engine_for(settings.database_url)
    with statements_run(settings.database_url) as statements:
        report = clock.tick(now)
    assert report.started == [] and report.heads_ups == 0
    assert len(statements) == 1
    statement, parameters = statements[0]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
        # "a round due?", "a program without a slot?" and "a heads-up?" search the
        # next_run_at index instead of reading every program
        assert "SCAN programs" not in plan, plan
        assert len(re.findall(r"SEARCH programs USING (COVERING )?INDEX ix_programs_next_run_at",
                              plan)) == 3, plan


# ---------------------------------------------------------------- rounds in flight


def test_check_ins_closing_and_resuming_are_asked_for_only_when_due(settings):
    now = utc(2026, 3, 4, 12)
    program_id = make_program(settings, next_run_at=now + dt.timedelta(days=5))
    calls = []
    clock = Clock(
        settings,
        start_round=Rounds(),
        resume_deliveries=lambda s: calls.append("resume") or 1,
        send_due_checkins=lambda s, n: calls.append("checkins") or 1,
        close_due_rounds=lambda s, n: calls.append("close") or 1,
    )
    with session_scope(settings.database_url) as session:
        session.add(Round(program_id=program_id, slot=now - dt.timedelta(days=2),
                          status="delivered", checkin_at=now + dt.timedelta(days=1),
                          closes_at=now + dt.timedelta(days=5)))
    clock.tick(now)
    assert calls == []
    clock.tick(now + dt.timedelta(days=1, seconds=1))
    assert calls == ["checkins"]
    with session_scope(settings.database_url) as session:
        round_ = session.scalar(select(Round))
        round_.checkin_sent_at = now + dt.timedelta(days=1)
        round_.status = "delivering"  # as if a delivery had been interrupted
    calls.clear()
    clock.tick(now + dt.timedelta(days=1, minutes=1))
    clock.tick(now + dt.timedelta(days=1, minutes=2))  # a stuck delivery is not hammered
    assert calls == ["resume"]
    clock.tick(now + dt.timedelta(days=1, minutes=7))
    assert calls == ["resume", "resume"]
    calls.clear()
    clock.tick(now + dt.timedelta(days=5, seconds=1))
    assert calls == ["close", "resume"]


# ---------------------------------------------------------------- heads-up and pauses


def test_heads_up_the_day_before_once(settings, slack):
    slack.add_channel("T1", "C1", "lunch", members=["UBOT"])
    slack.add_channel("T1", "C2", "quiet", members=["UBOT"])
    make_program(settings, channel_id="C1", heads_up=True, weekday=0, timezone="Europe/Berlin")
    make_program(settings, channel_id="C2", heads_up=False, weekday=0, timezone="Europe/Berlin")
    rounds = Rounds()
    with freeze_time("2026-02-01 10:00") as frozen:  # Sunday; rounds Monday 11:00 UTC
        clock = Clock(settings, start_round=rounds)
        clock.tick()
        assert slack.messages("C1") == []  # 25 hours ahead: too early
        frozen.move_to("2026-02-01 11:00:30")
        clock.tick()
        clock.tick()
        Clock(settings, start_round=rounds).tick()  # another clock process
        frozen.move_to("2026-02-02 11:00:30")
        clock.tick()  # the round itself
    posted = slack.messages("C1")
    assert len(posted) == 1
    assert posted[0].text.startswith("Pairing <!date^1770030000^{date_short_pretty} at {time}|")
    assert "Monday at 12:00 Europe/Berlin" in posted[0].text
    assert "`/meet pause 1 week` to skip this round" in posted[0].text
    assert slack.messages("C2") == []
    assert len(rounds.started) == 2


def test_a_pause_ends_after_its_last_day_where_the_person_is(settings, slack):
    for user, tz in (("UBER", "Europe/Berlin"), ("ULAX", "America/Los_Angeles"), ("UCH", None)):
        slack.add_user("T1", user, tz=tz)
    program_id = make_program(settings, next_run_at=utc(2026, 3, 16, 12))
    with session_scope(settings.database_url) as session:
        for user, tz in (("UBER", "Europe/Berlin"), ("ULAX", "America/Los_Angeles")):
            session.add(Member(team_id="T1", user_id=user, timezone=tz, values={}, sources={},
                               paused_until=dt.date(2026, 3, 9)))
        session.add(Participation(program_id=program_id, user_id="UCH",
                                  paused_until=dt.date(2026, 3, 9)))
    clock = Clock(settings, start_round=Rounds())

    def dms(user):
        conversation = slack.conversation_id("T1", [user])
        return [m.text for m in slack.messages(conversation)] if conversation else []

    def paused(model, user):
        with session_scope(settings.database_url) as session:
            return session.scalar(select(model.paused_until).where(model.user_id == user))

    clock.tick(utc(2026, 3, 9, 22, 59))  # 23:59 on the 9th in Berlin: still paused
    assert dms("UBER") == []
    report = clock.tick(utc(2026, 3, 10, 2))  # the 10th in Berlin and UTC; still the 9th in LA
    assert report.pauses_ended == 2
    assert dms("UBER") == ["You're back in: your pause is over, see you next round."]
    assert dms("UCH") == ["You're back in: your pause in <#C1> is over, see you next round."]
    assert paused(Member, "UBER") is None and paused(Participation, "UCH") is None
    assert dms("ULAX") == [] and paused(Member, "ULAX") == dt.date(2026, 3, 9)

    # while the Los Angeles pause waits for its midnight, a tick is still one query, but
    # for a quarter of an hour: then pauses are looked at again (one set meanwhile may end
    # first), and it is quiet again
    with statements_run(settings.database_url) as statements:
        clock.tick(utc(2026, 3, 10, 2, 14))
    assert len(statements) == 1
    with statements_run(settings.database_url) as statements:
        clock.tick(utc(2026, 3, 10, 2, 16))
    assert len(statements) > 1
    with statements_run(settings.database_url) as statements:
        clock.tick(utc(2026, 3, 10, 2, 30))
    assert len(statements) == 1

    clock.tick(utc(2026, 3, 10, 7, 0, 30))  # midnight in Los Angeles (PDT, -7)
    assert dms("ULAX") == ["You're back in: your pause is over, see you next round."]
    clock.tick(utc(2026, 3, 10, 7, 1))
    assert len(dms("ULAX")) == len(dms("UBER")) == 1  # once each


# ---------------------------------------------------------------- real clock processes

HUMANS = ["U01", "U02", "U03", "U04", "U05"]  # per channel: a pair and a trio


def slack_workspace(slack, channels: list[str]) -> None:
    for channel in channels:
        people = [f"{channel}{u}" for u in HUMANS]
        for person in people:
            slack.add_user("T1", person, tz="Europe/Berlin")
        slack.add_channel("T1", channel, channel.lower(), members=["UBOT", *people])


def start_clocks(count: int, env: dict, cwd: Path, *args: str) -> list[tuple]:
    clocks = []
    for n in range(count):
        log_path = cwd / f"clock-{n}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock", "--tick", "1", *args],
            env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
        )
        clocks.append((process, log, log_path))
    return clocks


def stop_clocks(clocks) -> list[str]:
    for process, _log, _path in clocks:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log, _path in clocks:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    return [path.read_text(errors="replace") for _p, _l, path in clocks]


def wait_for(condition, clocks, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process, _log, path in clocks:
            if process.poll() is not None:
                raise AssertionError(f"a clock exited early:\n{path.read_text()}")
        time.sleep(0.2)
    raise AssertionError("the clocks did not finish in time")


def weekly_program_due_at(settings, channel, slot) -> int:
    """A weekly program whose slot (whole minutes, UTC) is `slot`, stored as due."""
    return make_program(
        settings, channel_id=channel, weekday=slot.weekday(), time_of_day=f"{slot:%H:%M}",
        timezone="UTC", next_run_at=slot,
    )


def rounds_by_program(settings) -> dict[int, list[tuple[dt.datetime, str]]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Round.program_id, Round.slot, Round.status)).all()
    found: dict[int, list] = {}
    for program_id, slot, status in rows:
        found.setdefault(program_id, []).append((slot, status))
    return found


def clock_env(settings, slack) -> dict:
    return app_env(
        DATABASE_URL=settings.database_url,
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_API_URL=slack.api_url,
        SLACK_RATE_SCALE="1000",
        LOG_LEVEL="INFO",
    )


@pytest.mark.slow
def test_a_clock_process_started_after_downtime_catches_up_once_inside_the_grace_window(
    settings, slack, tmp_path
):
    slack_workspace(slack, ["CLATE", "CTOOLATE"])
    now = utcnow().replace(second=0, microsecond=0)
    # Slots that passed while no clock ran, as a stopped clock leaves them in the database.
    late = weekly_program_due_at(settings, "CLATE", now - dt.timedelta(hours=3))
    too_late = weekly_program_due_at(settings, "CTOOLATE", now - dt.timedelta(hours=30))

    clocks = start_clocks(1, clock_env(settings, slack), tmp_path)
    try:
        wait_for(
            lambda: all(next_run_at(settings, p) > utcnow() for p in (late, too_late))
            and all(s == "delivered" for r in rounds_by_program(settings).values() for _, s in r),
            clocks,
        )
    finally:
        (log,) = stop_clocks(clocks)

    assert rounds_by_program(settings) == {late: [(now - dt.timedelta(hours=3), "delivered")]}
    assert next_run_at(settings, late) == now - dt.timedelta(hours=3) + dt.timedelta(weeks=1)
    assert next_run_at(settings, too_late) == now - dt.timedelta(hours=30) + dt.timedelta(weeks=1)
    assert re.search(r"no round for program \d+ in CTOOLATE .* 30 h ago .* grace window", log)
    intros = [m for m in slack.messages() if (m.metadata or {}).get("event_type")]
    assert len(intros) == 2  # a pair and a trio from CLATE, nothing from CTOOLATE
    assert "clock stopped" in log


@pytest.mark.slow
@pytest.mark.postgres
def test_three_clock_processes_on_postgresql_run_each_round_exactly_once(
    settings, slack, tmp_path
):
    assert PG_URL and settings.database_url.startswith("postgresql")
    channels = [f"C{n:02d}" for n in range(12)]
    slack_workspace(slack, channels)
    slot = utcnow().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    programs = {weekly_program_due_at(settings, c, slot): c for c in channels}

    clocks = start_clocks(3, clock_env(settings, slack), tmp_path)
    try:
        wait_for(
            lambda: all(next_run_at(settings, p) > utcnow() for p in programs)
            and sum(
                s == "delivered" for r in rounds_by_program(settings).values() for _, s in r
            ) == len(programs),
            clocks,
        )
    finally:
        logs = stop_clocks(clocks)

    # one round per program and slot ...
    assert rounds_by_program(settings) == {p: [(slot, "delivered")] for p in programs}
    # ... run and moved on to next week by exactly one of the three processes (an attempt
    # that fails before anything is planned leaves the slot due, and another clock retries)
    everything = "\n".join(logs)
    done = re.findall(r"next round of program (\d+) at ", everything)
    assert sorted(int(p) for p in done) == sorted(programs), everything
    assert "moved to another slot meanwhile" not in everything
    attempts = re.findall(r"starting the round of program (\d+) in \w+ for ([\d-]+ [\d:]+)",
                          everything)
    assert {when for _, when in attempts} == {f"{slot:%Y-%m-%d %H:%M}"}
    retried = len(attempts) - len(done)
    assert everything.count("will try the round of program") == retried
    # ... and every group got its intro once: two groups (a pair and a trio) per channel
    intros = [m for m in slack.messages() if (m.metadata or {}).get("event_type")]
    assert len(intros) == 2 * len(programs)
    assert len({m.channel for m in intros}) == len(intros)
    assert all("clock stopped" in log for log in logs)


def test_clock_help_lists_the_grace_window():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "clock", "--help"], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ}, timeout=60,
    )
    assert result.returncode == 0
    assert "--grace-hours" in result.stdout and "CLOCK_GRACE_HOURS" in result.stdout


@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_under_serve_stops_the_clock_without_a_traceback(settings, slack, tmp_path, attempt):
    """Ctrl-C in a terminal reaches the whole process group: the clock gets SIGINT, and
    from serve, stopping, SIGTERM right after. The second signal must not stop it again
    (that was a traceback: the scheduler was no longer running), nor kill it on its way out."""
    clocks = start_clocks(1, clock_env(settings, slack), tmp_path)
    process, _log, path = clocks[0]
    try:
        wait_for(lambda: "clock started" in path.read_text(errors="replace"), clocks)
        time.sleep(0.2 * attempt)
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            # serve's SIGTERM, late or repeated: one that came as the interpreter exited
            # killed the clock (-15) after "clock stopped", and serve said it was killed
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            time.sleep(0.001)
        process.wait(timeout=1)
    finally:
        (log,) = stop_clocks(clocks)
    assert "Traceback" not in log, log
    assert process.returncode == 0, log
    assert log.count("clock stopping") == 1 and "clock stopped" in log


@pytest.mark.slow
def test_a_clock_given_a_metrics_folder_that_is_not_there_makes_it_and_runs_rounds(
    settings, slack, tmp_path
):
    """PROMETHEUS_MULTIPROC_DIR naming a folder not yet made failed every metric, and so
    every tick: no round ran, while /healthz and doctor said the clock was fine. One it
    cannot make is one line before it starts."""
    slack_workspace(slack, ["CMETRICS"])
    slot = utcnow().replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    program_id = weekly_program_due_at(settings, "CMETRICS", slot)
    folder = tmp_path / "metrics" / "clock"
    clocks = start_clocks(1, {**clock_env(settings, slack), "PROMETHEUS_MULTIPROC_DIR": str(folder)},
                          tmp_path)  # fmt: skip
    try:
        wait_for(lambda: rounds_by_program(settings) == {program_id: [(slot, "delivered")]},
                 clocks)  # fmt: skip
    finally:
        (log,) = stop_clocks(clocks)
    assert "Traceback" not in log and folder.is_dir() and any(folder.iterdir())

    (tmp_path / "a-file").write_text("")
    env = {**clock_env(settings, slack), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "a-file" / "x")}
    result = subprocess.run([sys.executable, "-m", "bot", "clock"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and result.stderr.startswith(
        f"error: cannot make PROMETHEUS_MULTIPROC_DIR '{tmp_path / 'a-file' / 'x'}' (Not a directory)"
    ), result.stderr
