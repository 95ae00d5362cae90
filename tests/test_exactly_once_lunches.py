"""Exactly once for the clock's lunch follow-ups, however many clocks tick at the same instant:
the day picked when nobody did, the reminder on the day, the day-after check-in and the
keep-in-touch reminder each reach each person once, from threads and from clock processes."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, update
from test_exactly_once import PEOPLE, together

from bot.domain.services import after_lunch
from bot.domain.services.rounds import run_round
from bot.jobs.clock import Clock
from bot.storage.db import session_scope
from bot.storage.models import Group, Program, Round, utcnow

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # a Monday
CLOCKS = 4
PICKED = "Nobody had picked a day yet"
REMINDED = "Lunch today"
ASKED = "Did you get to meet?"
KEEP_IN_TOUCH = "time for another lunch together"


def start_round(slack, settings, slot: dt.datetime) -> int:
    """20 pairs in Berlin introduced at `slot`, each offered days to lunch."""
    for user in PEOPLE:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_channel("T1", "C1", "lunch", members=[*PEOPLE, "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1", timezone="Europe/Berlin",
                          next_run_at=slot + dt.timedelta(days=365))  # no other round meanwhile
        session.add(program)
        session.flush()
        program_id = program.id
    with freeze_time(slot):
        run_round(settings, program_id, slot=slot)
    return program_id


def per_person(slack, settings, text: str) -> Counter:
    """How many messages containing `text` each person saw in their group's DM."""
    with session_scope(settings.database_url) as session:
        members = {g.conversation_id: [m.user_id for m in g.members]
                   for g in session.scalars(select(Group))}  # fmt: skip
    seen = Counter()
    for message in slack.messages():
        if text in message.text:
            seen.update(members.get(message.channel, [message.channel]))
    return seen


def once_each(seen: Counter, people=PEOPLE) -> bool:
    return set(seen) == set(people) and set(seen.values()) == {1}  # none twice, none missed


def assert_once_each(slack, settings, text: str) -> None:
    seen = per_person(slack, settings, text)
    assert once_each(seen), seen


def latest(settings, column) -> dt.datetime:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.max(column)))


def tick_together(settings, now: dt.datetime) -> None:
    """Clocks of their own (as in separate processes) ticking at the same instant."""
    clocks = [Clock(settings) for _ in range(CLOCKS)]
    together(*[lambda clock=clock: clock.tick(now) for clock in clocks])


@pytest.fixture
def introduced(slack, settings):
    start_round(slack, settings, START)
    slack.slow_next("chat.postMessage", 0.05, count=200)  # each post takes a while: room to race


def test_four_clocks_pick_a_day_for_each_group_once(slack, settings, introduced):
    tick_together(settings, START + dt.timedelta(days=2, minutes=1))  # two working days on
    assert_once_each(slack, settings, PICKED)
    with session_scope(settings.database_url) as session:
        assert all(g.lunch_at and g.auto_at is None for g in session.scalars(select(Group)))


def test_four_clocks_remind_each_group_once_on_the_day(slack, settings, introduced):
    Clock(settings).tick(START + dt.timedelta(days=2, minutes=1))  # the day is picked
    tick_together(settings, latest(settings, Group.remind_at) + dt.timedelta(minutes=1))
    assert_once_each(slack, settings, REMINDED)


def test_four_clocks_ask_each_group_once_the_day_after(slack, settings, introduced):
    clock = Clock(settings)
    clock.tick(START + dt.timedelta(days=2, minutes=1))
    clock.tick(latest(settings, Group.remind_at) + dt.timedelta(minutes=1))
    tick_together(settings, latest(settings, Group.check_at) + dt.timedelta(minutes=1))
    assert_once_each(slack, settings, ASKED)  # and not the round's own check-in besides
    with session_scope(settings.database_url) as session:
        assert all(g.checkin_ts for g in session.scalars(select(Group)))


def test_four_clocks_remind_each_group_keeping_in_touch_once(slack, settings, introduced):
    chosen = START + dt.timedelta(days=5)
    with session_scope(settings.database_url) as session:
        session.execute(update(Round).values(closed_at=START + dt.timedelta(days=7),
                                             status="closed"))  # long over  # fmt: skip
        for group in session.scalars(select(Group)):
            for member in group.members:
                after_lunch.keep_in_touch(session, group.id, member.user_id, chosen)
    tick_together(settings, chosen + dt.timedelta(weeks=12, minutes=1))
    assert_once_each(slack, settings, KEEP_IN_TOUCH)


@pytest.mark.slow
def test_four_clock_processes_send_each_follow_up_once(slack, settings, tmp_path):
    from test_clock import clock_env, start_clocks, stop_clocks, wait_for

    now = utcnow().replace(microsecond=0)
    start_round(slack, settings, now - dt.timedelta(hours=1))
    due = now - dt.timedelta(minutes=1)
    kinds = (  # five groups of each, everything due at once, as after a clock was down
        (PICKED, {"auto_at": due}),
        (REMINDED, {"lunch_at": now + dt.timedelta(hours=2), "remind_at": due}),
        (ASKED, {"lunch_at": now - dt.timedelta(days=1), "check_at": due}),
        (KEEP_IN_TOUCH, {"touch_next_at": due}),
    )
    people = {}
    with session_scope(settings.database_url) as session:
        groups = list(session.scalars(select(Group).order_by(Group.id)))
        for n, (text, values) in enumerate(kinds):
            for group in groups[5 * n: 5 * n + 5]:
                group.auto_at = None
                for column, value in values.items():
                    setattr(group, column, value)
                people.setdefault(text, []).extend(m.user_id for m in group.members)
    slack.slow_next("chat.postMessage", 0.2, count=30)  # posting takes a while: room to race

    def all_sent():
        return all(sum(per_person(slack, settings, text).values()) >= len(people[text])
                   for text, _ in kinds)  # fmt: skip

    clocks = start_clocks(CLOCKS, clock_env(settings, slack), tmp_path)
    try:
        wait_for(all_sent, clocks)
    finally:
        stop_clocks(clocks)  # each finishes its tick: a second post would be in by now
    wrong = {}
    for text, _ in kinds:
        seen = per_person(slack, settings, text)
        if not once_each(seen, people[text]):
            wrong[text] = (f"{sum(n > 1 for n in seen.values())} twice or more, "
                           f"{len(set(people[text]) - set(seen))} missed")  # fmt: skip
    assert not wrong
