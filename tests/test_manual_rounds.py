"""A round run by hand shortly before a scheduled one stands in for it.

An admin ran `/meet now` at 11:55 with the program's round scheduled at 12:00: at 12:00 the
clock closed the manual round and formed new groups, and everyone got two intros five
minutes apart. A round run by hand less than half a cycle before the next slot (or after a
slot the clock has not run) now takes that slot's place, however it was started; the admin
is told so, and the Home tab and `/meet status` show the slot after it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import app_env, run_cli
from freezegun import freeze_time
from sqlalchemy import select
from test_home import open_home, text_of
from test_meet_harness import make_program, open_harness

from bot.edge import home
from bot.jobs.clock import Clock
from bot.storage.models import Group, Program, Round

SUNDAY = dt.datetime(2026, 5, 31, 12, tzinfo=dt.UTC)
NOON = dt.datetime(2026, 6, 1, 16, tzinfo=dt.UTC)  # Monday 1 June, 12:00 in New York
MINUTE = dt.timedelta(minutes=1)
STANDS_IN = (
    "This round stands in for the one scheduled at Monday 1 June, 12:00 (America/New_York), "
    "so that one will not run; the next is Monday 8 June, 12:00 (America/New_York)."
)


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def program_id(harness):
    """#lunch, every Monday at 12:00 in New York."""
    harness.slack.add_member("T1", "C1", "UBOT")
    with freeze_time(SUNDAY):
        return make_program(harness.settings, "C1", weekday=0, time_of_day="12:00")


def intros_per_person(harness) -> dict[str, int]:
    counts: dict[str, int] = {}
    with harness.session() as session:
        for group in session.scalars(select(Group).where(Group.conversation_id.is_not(None))):
            sent = sum(
                (m.metadata or {}).get("event_type") == "worth_knowing_intro"
                for m in harness.slack.messages(group.conversation_id)
            )
            for member in group.members:
                counts[member.user_id] = counts.get(member.user_id, 0) + sent
    return counts


def rounds_of(harness, program_id: int) -> list[Round]:
    with harness.session() as session:
        return list(session.scalars(select(Round).where(Round.program_id == program_id)))


def run_by_hand(harness, program_id: int, how: str) -> str:
    """An admin runs a round; what they are told when it is done."""
    if how == "/meet now":
        harness.command("now", user="UADMIN", channel="C1")
        return harness.slack.ephemerals("C1", user="UADMIN")[-1].text
    harness.click(home.RUN_NOW, str(program_id), user="UADMIN", from_home=True)
    return text_of(harness.slack.home_view("T1", "UADMIN"))


@pytest.mark.parametrize("how", ["/meet now", "the Home tab"])
def test_a_round_by_hand_five_minutes_early_stands_in_for_the_scheduled_one(
    harness, program_id, how
):
    clock = Clock(harness.settings)
    with freeze_time(NOON - 5 * MINUTE):
        told = run_by_hand(harness, program_id, how)
    assert "Round in <#C1> done: 2 groups, 2 introduced" in told and STANDS_IN in told
    for moment in (NOON + MINUTE / 2, NOON + 5 * MINUTE, NOON + dt.timedelta(hours=3)):
        with freeze_time(moment):
            clock.tick()
    assert len(rounds_of(harness, program_id)) == 1
    assert intros_per_person(harness) == {"U1": 1, "U2": 1, "U3": 1, "U4": 1}

    with freeze_time(NOON + dt.timedelta(hours=4)):
        status = harness.command("status", user="UADMIN", channel="C1").text
        assert "Next round: Monday 8 June, 12:00 (America/New_York)" in status
        home_tab = text_of(open_home(harness, "UADMIN"))
        assert "Monday 8 June, 12:00 (America/New_York)" in home_tab
    with freeze_time(NOON + dt.timedelta(days=7, seconds=30)):
        clock.tick()  # the next slot runs as scheduled, and closes the round run by hand
    assert len(rounds_of(harness, program_id)) == 2
    assert intros_per_person(harness) == {"U1": 2, "U2": 2, "U3": 2, "U4": 2}


def test_a_clock_that_read_the_slot_before_the_round_by_hand_runs_no_other(harness, program_id):
    """The clock took the slot as due, then the admin's round was planned first."""
    with freeze_time(NOON - MINUTE / 2):
        assert STANDS_IN in run_by_hand(harness, program_id, "/meet now")
    with harness.session() as session:  # as the clock read it, just before
        session.get(Program, program_id).next_run_at = NOON
    with freeze_time(NOON + MINUTE / 2):
        Clock(harness.settings).tick()
    assert len(rounds_of(harness, program_id)) == 1
    assert intros_per_person(harness) == {"U1": 1, "U2": 1, "U3": 1, "U4": 1}
    with harness.session() as session:
        assert session.get(Program, program_id).next_run_at == NOON + dt.timedelta(days=7)


def test_a_round_by_hand_half_a_cycle_before_leaves_the_schedule_alone(harness, program_id):
    with freeze_time(NOON - dt.timedelta(days=3, hours=12)):  # Thursday 28 May, 12:00
        told = run_by_hand(harness, program_id, "/meet now")
    assert "Round in <#C1> done" in told and "stands in" not in told
    with freeze_time(NOON + MINUTE / 2):
        Clock(harness.settings).tick()
    assert len(rounds_of(harness, program_id)) == 2
    with harness.session() as session:
        assert session.get(Program, program_id).next_run_at == NOON + dt.timedelta(days=7)


def test_a_round_by_hand_after_a_slot_missed_while_the_clock_was_down_is_not_repeated(
    harness, program_id
):
    """No clock ran at 12:00; the admin ran a round at 14:00; the clock, back at 15:00,
    would have caught the missed slot up within its grace window."""
    with freeze_time(NOON + dt.timedelta(hours=2)):
        told = run_by_hand(harness, program_id, "/meet now")
    assert STANDS_IN in told
    with freeze_time(NOON + dt.timedelta(hours=3)):
        Clock(harness.settings).tick()
    assert len(rounds_of(harness, program_id)) == 1
    assert intros_per_person(harness) == {"U1": 1, "U2": 1, "U3": 1, "U4": 1}


def test_the_round_command_shortly_before_a_slot_stands_in_for_it(slack, settings, tmp_path):
    for user in ("UA", "UB", "UC", "UD"):
        slack.add_user("T1", user, tz="Europe/Madrid")
    slack.add_channel("T1", "C5", "lunch", members=["UA", "UB", "UC", "UD", "UBOT"])
    now = dt.datetime.now(dt.UTC)
    slot = (now + dt.timedelta(minutes=6)).replace(second=0, microsecond=0)
    program_id = make_program(settings, "C5", weekday=slot.weekday(),
                              time_of_day=f"{slot:%H:%M}", timezone="UTC")  # fmt: skip
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url, SLACK_RATE_SCALE="1000",
    )  # fmt: skip
    result = run_cli("round", "C5", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    day = lambda moment: f"{moment:%A} {moment.day} {moment:%B}, {moment:%H:%M} (UTC)"  # noqa: E731
    following = slot + dt.timedelta(days=7)
    assert (f"This round stands in for the one scheduled at {day(slot)}, so that one will not "
            f"run; the next is {day(following)}.") in result.stdout  # fmt: skip
    Clock(settings).tick(slot + MINUTE / 2)
    with session_scope_of(settings) as session:
        assert session.scalar(select(Round.id).where(Round.program_id == program_id))
        assert len(list(session.scalars(select(Round).where(Round.program_id == program_id)))) == 1
        assert session.get(Program, program_id).next_run_at == following
    assert len(slack.calls("chat.postMessage")) == 2  # one intro for each of the two groups


def session_scope_of(settings):
    from bot.storage.db import session_scope

    return session_scope(settings.database_url)
