"""Time at its edges: a schedule changed just after its round, a clock down on the morning
of a lunch, and a round whose week holds a change of clocks."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from test_meet_harness import make_program, open_harness

from bot.domain.services import programs, rounds
from bot.jobs.clock import Clock
from bot.storage.db import session_scope
from bot.storage.models import Group, Participation, Program, Round

UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def test_moving_the_time_later_on_the_day_of_the_round_runs_a_second_round_that_day(
    harness, slack, settings
):
    """Weekly, Monday 12:00 Berlin. The round runs at 12:00; at 13:00 the admin moves the
    time to 15:00 "from now on". A second round starts at 15:00 the same day, closing the
    first one three hours after its intros, with no check-in: everyone counted silent."""
    slack.add_member("T1", "C1", "UBOT")
    with freeze_time(utc(2026, 6, 1, 8)):
        program_id = make_program(settings, "C1", timezone="Europe/Berlin", time_of_day="12:00")
    clock = Clock(settings)
    with freeze_time(utc(2026, 6, 1, 10, 0, 30)):  # Monday 12:00:30 in Berlin
        clock.tick()
    with freeze_time(utc(2026, 6, 1, 11)):  # Monday 13:00 in Berlin: /meet schedule
        with session_scope(settings.database_url) as session:
            program = session.get(Program, program_id)
            programs.set_schedule(program, "weekly", 0, "15:00", "Europe/Berlin")
            next_at = program.next_run_at
    with freeze_time(utc(2026, 6, 1, 13, 0, 30)):  # Monday 15:00:30 in Berlin
        clock.tick()
    with session_scope(settings.database_url) as session:
        slots = list(session.scalars(select(Round.slot).where(Round.program_id == program_id)))
        silent = [p.silent_rounds for p in session.scalars(select(Participation))]
    assert slots == [utc(2026, 6, 1, 10)], f"rounds this Monday: {slots}; silent: {silent}"
    assert next_at == utc(2026, 6, 8, 13)  # the new time, from next Monday


def test_a_lunch_reminder_is_not_sent_after_the_lunch_when_the_clock_was_down(
    harness, slack, settings
):
    """A lunch agreed for Tuesday 12:00 Berlin; the clock is down Tuesday morning and back
    at 15:00. It then posts "Lunch today: 12:00. Have a good one!" three hours after."""
    from test_lunches import date_buttons

    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", timezone="Europe/Berlin")
    with freeze_time(utc(2026, 6, 1, 10)):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group).order_by(Group.id)).first()
        conversation, organiser, group_id = group.conversation_id, group.organiser_id, group.id
    tuesday = date_buttons(slack, conversation)[0]
    with freeze_time(utc(2026, 6, 1, 11)):
        harness.click(tuesday["action_id"], tuesday["value"], user=organiser, channel=conversation)
    with harness.session() as session:
        lunch_at = session.get(Group, group_id).lunch_at
    assert lunch_at == utc(2026, 6, 2, 10)
    before = len(slack.messages(conversation))
    Clock(settings).tick(utc(2026, 6, 2, 13))  # back after downtime, 15:00 in Berlin
    late = [m.text for m in slack.messages(conversation)[before:]]
    assert not any("Lunch today" in t for t in late), late


def test_changing_the_weekday_after_this_weeks_round_waits_for_next_week(harness, slack, settings):
    """Weekly on Mondays; on Tuesday the admin moves it to Wednesdays. The next round was
    the next day, two days after Monday's, which it closed before its check-in."""
    slack.add_member("T1", "C1", "UBOT")
    with freeze_time(utc(2026, 6, 1, 8)):
        program_id = make_program(settings, "C1", timezone="Europe/Berlin", time_of_day="12:00")
    clock = Clock(settings)
    clock.tick(utc(2026, 6, 1, 10, 0, 30))  # Monday's round
    with freeze_time(utc(2026, 6, 2, 9)):  # Tuesday: /meet schedule weekly wed 12:00
        with session_scope(settings.database_url) as session:
            programs.set_schedule(session.get(Program, program_id), "weekly", 2, "12:00", None)
    clock.tick(utc(2026, 6, 3, 10, 0, 30))
    clock.tick(utc(2026, 6, 10, 10, 0, 30))  # next week's Wednesday: the new day
    with session_scope(settings.database_url) as session:
        slots = list(session.scalars(select(Round.slot).order_by(Round.slot)))
    assert slots == [utc(2026, 6, 1, 10), utc(2026, 6, 10, 10)], slots


def test_a_lunch_on_the_last_day_offered_is_asked_about_in_a_week_clocks_spring_forward(
    harness, slack, settings
):
    """As tests/test_lunches.py's last-day test, but the round's week holds Berlin's spring
    DST change (Sunday 29 March 2026). The day-after question for Thursday's lunch is due
    at closes_at - 1 h, which is now the very instant the next round starts; the tick runs
    the round first (closing this one) and the question is dropped: never asked, silent."""
    from test_lunches import follow_ups

    from bot.slack import round_messages

    slack.add_member("T1", "C1", "UBOT")
    with freeze_time(utc(2026, 3, 27, 9)):
        make_program(settings, "C1", weekday=4, timezone="Europe/Berlin")
    clock = Clock(settings)
    clock.tick(utc(2026, 3, 27, 11, 0, 30))  # Friday 12:00 CET: the round
    with harness.session() as session:
        group = session.scalars(select(Group)).first()
        group_id, conversation, organiser = group.id, group.conversation_id, group.organiser_id
    with freeze_time(utc(2026, 3, 27, 12)):
        thursday = []
        while not thursday:  # "None of these" until the last day offered shows
            harness.click(round_messages.LUNCH_NONE, str(group_id), user=organiser,
                          channel=conversation)  # fmt: skip
            more = slack.messages(conversation)[-1].blocks
            buttons = [e for b in more if b["type"] == "actions" for e in b["elements"]]
            assert len(buttons) > 1, "no more days"
            thursday = [e for e in buttons if "Thu 2 Apr" in e["text"]["text"]]
        (thursday,) = thursday
        harness.click(thursday["action_id"], thursday["value"], user=organiser,
                      channel=conversation)  # fmt: skip
    with harness.session() as session:
        group = session.get(Group, group_id)
        assert group.lunch_at == utc(2026, 4, 2, 10)
        check_at = group.check_at
    for minute in range(-120, 10):  # ticks every minute up to the next round and past it
        clock.tick(utc(2026, 4, 3, 10, 0, 30) + dt.timedelta(minutes=minute))
    with session_scope(settings.database_url) as session:
        silent = {p.user_id: p.silent_rounds for p in session.scalars(select(Participation))}
    asked = [t for t in follow_ups(slack, conversation) if "Did you get to meet?" in t]
    assert asked, f"never asked; check_at {check_at}; silent rounds {silent}"


def test_a_pause_through_today_set_while_another_pause_waits_ends_near_its_own_midnight(
    harness, slack, settings
):
    """Someone in Pago Pago (UTC-11) is paused through 9 March, so the clock left pauses
    alone until 11:00 UTC on the 10th. Someone who typed `/meet pause until 2026-03-09` at
    12:30 UTC on the 9th heard "You're back in" only then, eleven hours after their
    midnight (UTC's: the app has not read their zone yet)."""
    from bot.storage.models import Member

    slack.add_user("T1", "UPAGO", tz="Pacific/Pago_Pago")
    with session_scope(settings.database_url) as session:
        session.add(Member(team_id="T1", user_id="UPAGO", timezone="Pacific/Pago_Pago",
                           values={}, sources={}, paused_until=dt.date(2026, 3, 9)))  # fmt: skip
    clock = Clock(settings)
    clock.tick(utc(2026, 3, 9, 12))
    with freeze_time(utc(2026, 3, 9, 12, 30)):
        harness.command("pause until 2026-03-09", user="U1", channel="D0001")
    for minutes in range(0, 12 * 60, 5):  # every five minutes from their midnight
        clock.tick(utc(2026, 3, 10) + dt.timedelta(minutes=minutes, seconds=30))
        conversation = slack.conversation_id("T1", ["U1"])
        said = [m.text for m in slack.messages(conversation)] if conversation else []
        if any("back in" in t for t in said):
            break
    assert minutes <= 15, f"'You're back in' came {minutes} minutes after their midnight"


def _after_a_round(settings, slack, round_at: dt.datetime, **options) -> int:
    slack.add_member("T1", "C1", "UBOT")
    with freeze_time(round_at - dt.timedelta(days=3)):
        program_id = make_program(settings, "C1", timezone="Europe/Berlin", time_of_day="12:00",
                                  **options)  # fmt: skip
    with freeze_time(round_at):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    return program_id


@pytest.mark.parametrize(
    ("options", "changed_to", "first_new"),
    [
        ({}, ("weekly", 4, "12:00", None), utc(2026, 6, 12, 10)),  # Monday's, then Friday
        ({"cadence": "monthly", "week_of_month": 1},  # the first Monday, then the last Friday
         ("monthly", 4, "12:00", None, -1), utc(2026, 7, 31, 10)),
    ],
)  # fmt: skip
def test_a_schedule_changed_after_its_round_waits_for_the_next_cycle(
    harness, slack, settings, options, changed_to, first_new
):
    program_id = _after_a_round(settings, slack, utc(2026, 6, 1, 10), **options)
    with freeze_time(utc(2026, 6, 2, 9)), session_scope(settings.database_url) as session:
        program = session.get(Program, program_id)
        programs.set_schedule(program, *changed_to)
        assert program.next_run_at == first_new


def test_settings_saved_without_a_schedule_change_keep_the_next_round(harness, slack, settings):
    """A `/meet now` round on Friday; on Saturday an admin saves the settings with only the
    group size changed: Monday's round moved to the Monday after."""
    program_id = _after_a_round(settings, slack, utc(2026, 6, 5, 16))
    with freeze_time(utc(2026, 6, 6, 9)), session_scope(settings.database_url) as session:
        program = session.get(Program, program_id)
        before = program.next_run_at
        shown = programs.settings_of(program)
        saved = programs.ProgramSettings(**{**vars(shown), "group_size": 3})
        programs.apply_settings(program, programs.merged(programs.settings_of(program), shown,
                                                         saved))  # fmt: skip
        assert (before, program.next_run_at, program.group_size) == (utc(2026, 6, 8, 10),
                                                                     utc(2026, 6, 8, 10), 3)  # fmt: skip
