"""When rounds happen: the next-run rule across DST changes, month ends, leap years and the
week parity of fortnightly programs, and the words admins type to set a schedule."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.schedule import (
    Schedule,
    check_timezone,
    describe,
    latest_due,
    next_run,
    parse_cadence,
    parse_time,
    parse_week_of_month,
    parse_weekday,
    runs,
    schedule_of,
)
from bot.storage.models import utcnow

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = 6


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(slot: dt.datetime, zone: str) -> dt.datetime:
    return slot.astimezone(ZoneInfo(zone))


# ---------------------------------------------------------------- weekly, and "strictly after"


def test_weekly_slot_is_the_next_weekday_at_the_local_time():
    monday_noon_berlin = Schedule(weekday=0, time_of_day=dt.time(12), timezone="Europe/Berlin")
    # Wednesday 7 January 2026: next Monday is the 12th, 12:00 CET = 11:00 UTC
    assert next_run(monday_noon_berlin, utc(2026, 1, 7, 9)) == utc(2026, 1, 12, 11)
    # Monday morning before noon: today
    assert next_run(monday_noon_berlin, utc(2026, 1, 12, 8)) == utc(2026, 1, 12, 11)


def test_the_slot_itself_is_not_after_itself_so_the_next_is_a_week_later():
    schedule = Schedule(weekday=0, time_of_day=dt.time(12), timezone="Europe/Berlin")
    slot = utc(2026, 1, 12, 11)
    assert next_run(schedule, slot) == utc(2026, 1, 19, 11)
    assert next_run(schedule, slot - dt.timedelta(microseconds=1)) == slot


def test_the_answer_is_utc_whatever_zone_the_question_is_asked_in():
    schedule = Schedule(weekday=4, time_of_day=dt.time(9, 30), timezone="Asia/Kolkata")
    after = dt.datetime(2026, 5, 1, 1, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    slot = next_run(schedule, after)
    assert slot.tzinfo is UTC
    assert slot == utc(2026, 5, 8, 4, 0)  # Friday 09:30 IST (+05:30)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(Schedule(), dt.datetime(2026, 1, 1))


def test_next_run_of_now_under_a_frozen_clock():
    schedule = Schedule(weekday=2, time_of_day=dt.time(13, 15), timezone="America/New_York")
    with freeze_time("2026-07-01 17:14:59"):  # Wednesday 13:14:59 EDT
        assert next_run(schedule, utcnow()) == utc(2026, 7, 1, 17, 15)
    with freeze_time("2026-07-01 17:15:00"):
        assert next_run(schedule, utcnow()) == utc(2026, 7, 8, 17, 15)


# ---------------------------------------------------------------- daylight saving time


def test_a_time_that_does_not_exist_runs_as_much_later_as_the_clocks_jumped():
    # 29 March 2026, Berlin: 02:00 CET becomes 03:00 CEST, so 02:30 never happens.
    schedule = Schedule(weekday=SUNDAY, time_of_day=dt.time(2, 30), timezone="Europe/Berlin")
    slot = next_run(schedule, utc(2026, 3, 23))
    assert local(slot, "Europe/Berlin").replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 30)
    assert slot == utc(2026, 3, 29, 1, 30)
    # and the week after is back at 02:30
    assert local(next_run(schedule, slot), "Europe/Berlin").time() == dt.time(2, 30)


def test_a_time_that_happens_twice_runs_at_the_first_and_only_once():
    # 25 October 2026, Berlin: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    schedule = Schedule(weekday=SUNDAY, time_of_day=dt.time(2, 30), timezone="Europe/Berlin")
    slot = next_run(schedule, utc(2026, 10, 19))
    assert slot == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first one
    assert local(slot, "Europe/Berlin").utcoffset() == dt.timedelta(hours=2)
    # asked again just after the first 02:30, or between the two, the answer is next week
    following = utc(2026, 11, 1, 1, 30)
    assert next_run(schedule, slot) == following
    assert next_run(schedule, utc(2026, 10, 25, 1, 0)) == following
    assert next_run(schedule, utc(2026, 10, 25, 1, 30)) == following


def test_us_dst_changes_move_the_utc_time_but_not_the_local_one():
    schedule = Schedule(weekday=0, time_of_day=dt.time(12), timezone="America/New_York")
    before, after = runs(schedule, utc(2026, 3, 1), 2)  # around Sunday 8 March 2026
    assert (before, after) == (utc(2026, 3, 2, 17), utc(2026, 3, 9, 16))
    assert local(before, "America/New_York").time() == local(after, "America/New_York").time()


def test_half_hour_dst_and_southern_hemisphere():
    # Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30 on 4 October 2026.
    lord_howe = Schedule(weekday=SUNDAY, time_of_day=dt.time(2, 15), timezone="Australia/Lord_Howe")
    slot = next_run(lord_howe, utc(2026, 9, 30))
    assert local(slot, "Australia/Lord_Howe").replace(tzinfo=None) == dt.datetime(2026, 10, 4, 2, 45)
    # Sydney falls back on 5 April 2026: 02:30 happens twice, the first (+11:00) counts.
    sydney = Schedule(weekday=SUNDAY, time_of_day=dt.time(2, 30), timezone="Australia/Sydney")
    assert next_run(sydney, utc(2026, 4, 1)) == utc(2026, 4, 4, 15, 30)


def test_a_year_of_sundays_at_0230_in_berlin():
    schedule = Schedule(weekday=SUNDAY, time_of_day=dt.time(2, 30), timezone="Europe/Berlin")
    slots = runs(schedule, utc(2025, 12, 31, 23), 52)
    local_times = [local(s, "Europe/Berlin") for s in slots]
    assert [t.date() for t in local_times] == [
        dt.date(2026, 1, 4) + dt.timedelta(weeks=i) for i in range(52)
    ]
    off_days = {t.date(): t.time() for t in local_times if t.time() != dt.time(2, 30)}
    assert off_days == {dt.date(2026, 3, 29): dt.time(3, 30)}
    assert len(set(slots)) == 52 and slots == sorted(slots)


# ---------------------------------------------------------------- monthly


def test_monthly_first_tuesday():
    schedule = Schedule(
        cadence="monthly", weekday=1, week_of_month=1, time_of_day=dt.time(9),
        timezone="Europe/London",
    )
    slots = runs(schedule, utc(2026, 1, 1), 4)
    assert [local(s, "Europe/London").date() for s in slots] == [
        dt.date(2026, 1, 6), dt.date(2026, 2, 3), dt.date(2026, 3, 3), dt.date(2026, 4, 7)
    ]
    assert local(slots[3], "Europe/London").time() == dt.time(9)  # BST by then


def test_monthly_last_weekday_at_month_ends_and_in_a_leap_february():
    last_tuesday = Schedule(cadence="monthly", weekday=1, week_of_month=-1)
    # 29 February 2028 is a Tuesday: the last Tuesday of a leap February
    assert next_run(last_tuesday, utc(2028, 2, 1)) == utc(2028, 2, 29, 12)
    # in 2027, February ends on a Sunday: its last Tuesday is the 23rd
    assert next_run(last_tuesday, utc(2027, 2, 1)) == utc(2027, 2, 23, 12)
    # after December's last Tuesday comes January's, across the year end
    assert next_run(last_tuesday, utc(2026, 12, 29, 12)) == utc(2027, 1, 26, 12)


def test_monthly_fourth_weekday_and_a_month_where_it_is_already_past():
    fourth_friday = Schedule(cadence="monthly", weekday=4, week_of_month=4, time_of_day=dt.time(17))
    assert next_run(fourth_friday, utc(2026, 1, 1)) == utc(2026, 1, 23, 17)
    assert next_run(fourth_friday, utc(2026, 1, 23, 17, 1)) == utc(2026, 2, 27, 17)


def test_monthly_program_without_a_week_runs_in_the_first_week():
    program = SimpleNamespace(
        cadence="monthly", weekday=0, week_of_month=None, anchor_date=None,
        time_of_day="10:00", timezone="UTC",
    )
    assert next_run(schedule_of(program), utc(2026, 6, 2)) == utc(2026, 7, 6, 10)


# ---------------------------------------------------------------- every 2 and 4 weeks


def test_every_two_weeks_keeps_the_anchor_weeks_parity_across_the_year_end():
    schedule = Schedule(cadence="biweekly", weekday=0, anchor_date=dt.date(2026, 12, 30))
    # the anchor is a Wednesday: its week's Monday, the 28th, has a round, then every 14 days
    slots = runs(schedule, utc(2026, 12, 20), 3)
    assert [s.date() for s in slots] == [
        dt.date(2026, 12, 28), dt.date(2027, 1, 11), dt.date(2027, 1, 25)
    ]


def test_every_four_weeks_skips_three_weeks_in_four():
    schedule = Schedule(
        cadence="every4weeks", weekday=3, anchor_date=dt.date(2026, 1, 1),
        time_of_day=dt.time(12, 30), timezone="America/Chicago",
    )
    slots = runs(schedule, utc(2026, 1, 2), 3)
    assert [local(s, "America/Chicago").date() for s in slots] == [
        dt.date(2026, 1, 29), dt.date(2026, 2, 26), dt.date(2026, 3, 26)
    ]
    assert all(local(s, "America/Chicago").time() == dt.time(12, 30) for s in slots)


# ---------------------------------------------------------------- any schedule, any moment

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "America/Santiago", "Africa/Casablanca"]
schedules = st.builds(
    Schedule,
    cadence=st.sampled_from(["weekly", "biweekly", "every4weeks", "monthly"]),
    weekday=st.integers(0, 6),
    time_of_day=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    timezone=st.sampled_from(ZONES),
    week_of_month=st.sampled_from([1, 2, 3, 4, -1]),
    anchor_date=st.dates(dt.date(2020, 1, 1), dt.date(2035, 1, 1)),
)
moments = st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2034, 1, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, after=moments)
@example(  # a wall time marked fold=1 at a clock change that skips midnight (found by this test)
    schedule=Schedule(cadence="monthly", weekday=6, time_of_day=dt.time(0, 0, fold=1),
                      timezone="America/Santiago", week_of_month=1),
    after=dt.datetime(2025, 9, 1, tzinfo=UTC),
)
def test_next_run_is_the_first_slot_strictly_after(schedule, after):
    slot = next_run(schedule, after)
    assert after < slot <= after + dt.timedelta(days=36)
    at = slot.astimezone(schedule.zone)
    assert at.weekday() == schedule.weekday
    # the local time is the schedule's, or later by a DST jump (never earlier, at most 2 h)
    wall = dt.datetime.combine(at.date(), schedule.time_of_day)
    assert dt.timedelta(0) <= at.replace(tzinfo=None) - wall <= dt.timedelta(hours=2)
    # nothing is skipped: asking from any moment before the slot gives the same slot
    assert next_run(schedule, after + (slot - after) / 2) == slot
    assert next_run(schedule, slot - dt.timedelta(seconds=1)) == slot


# ---------------------------------------------------------------- catching up


def test_latest_due_is_the_stored_slot_when_nothing_was_missed():
    schedule = Schedule(weekday=0)
    assert latest_due(schedule, utc(2026, 1, 5, 12), utc(2026, 1, 5, 12, 0, 30)) == (
        utc(2026, 1, 5, 12), 0
    )


def test_latest_due_after_weeks_down_is_the_last_slot_and_counts_the_missed():
    schedule = Schedule(weekday=0)
    assert latest_due(schedule, utc(2026, 1, 5, 12), utc(2026, 1, 27)) == (
        utc(2026, 1, 26, 12), 3  # the 5th, 12th and 19th were missed
    )
    # a year down: still one slot, found without walking the whole year
    slot, missed = latest_due(schedule, utc(2025, 1, 6, 12), utc(2026, 1, 27))
    assert slot == utc(2026, 1, 26, 12) and missed >= 1


def test_latest_due_refuses_a_slot_in_the_future():
    with pytest.raises(ValueError):
        latest_due(Schedule(), utc(2026, 2, 1), utc(2026, 1, 1))


# ---------------------------------------------------------------- in words, and from words


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (Schedule(weekday=0, timezone="Europe/Berlin"), "every Monday at 12:00 Europe/Berlin"),
        (
            Schedule(cadence="biweekly", weekday=2, time_of_day=dt.time(12, 30)),
            "every 2 weeks on Wednesday at 12:30 UTC",
        ),
        (Schedule(cadence="every4weeks", weekday=4), "every 4 weeks on Friday at 12:00 UTC"),
        (
            Schedule(cadence="monthly", weekday=1, week_of_month=1, time_of_day=dt.time(9)),
            "the first Tuesday of every month at 09:00 UTC",
        ),
        (
            Schedule(cadence="monthly", weekday=4, week_of_month=-1, timezone="Asia/Tokyo"),
            "the last Friday of every month at 12:00 Asia/Tokyo",
        ),
    ],
)
def test_describe(schedule, words):
    assert describe(schedule) == words


def test_schedule_of_a_program_row():
    program = SimpleNamespace(
        cadence="biweekly", weekday=3, week_of_month=None, anchor_date=dt.date(2026, 1, 1),
        time_of_day="08:45", timezone="America/Denver",
    )
    assert schedule_of(program) == Schedule(
        cadence="biweekly", weekday=3, time_of_day=dt.time(8, 45), timezone="America/Denver",
        anchor_date=dt.date(2026, 1, 1),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12:00", dt.time(12)), ("9:30", dt.time(9, 30)), (" 09:05 ", dt.time(9, 5)),
     ("14h", dt.time(14)), ("12pm", dt.time(12)), ("12am", dt.time(0)),
     ("1:30 PM", dt.time(13, 30)), ("23:59", dt.time(23, 59)), ("7.15", dt.time(7, 15))],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "noon", "24:00", "12:60", "13pm", "0am", "12", "1230"])
def test_parse_time_refuses_with_an_example(text):
    with pytest.raises(ValueError, match="like 12:00"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mon", 0), ("Monday", 0), ("tu", 1), ("tues", 1), ("WED", 2), ("thurs", 3), ("fri.", 4),
     ("sat", 5), ("sun", 6)],
)
def test_parse_weekday(text, expected):
    assert parse_weekday(text) == expected


@pytest.mark.parametrize("text", ["", "m", "t", "funday", "7"])
def test_parse_weekday_refuses(text):
    with pytest.raises(ValueError, match="day of the week"):
        parse_weekday(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("weekly", "weekly"), ("Every 2 weeks", "biweekly"), ("fortnightly", "biweekly"),
     ("every  other week", "biweekly"), ("every4weeks", "every4weeks"),
     ("every 4 weeks", "every4weeks"), ("Monthly", "monthly")],
)
def test_parse_cadence(text, expected):
    assert parse_cadence(text) == expected


def test_parse_cadence_and_week_of_month_refuse_nonsense():
    with pytest.raises(ValueError, match="cadence"):
        parse_cadence("daily")
    with pytest.raises(ValueError, match="week of the month"):
        parse_week_of_month("fifth")
    assert [parse_week_of_month(w) for w in ("first", "2nd", "3", "Fourth", "last")] == [
        1, 2, 3, 4, -1
    ]


def test_time_zone_names():
    assert check_timezone("europe/berlin") == "Europe/Berlin"
    assert check_timezone(" America/New_York ") == "America/New_York"
    assert check_timezone("utc") == "UTC"
    for bad in ("Mars/Olympus", "", "CEST+2", "../etc/passwd", "localtime", "Factory"):
        with pytest.raises(ValueError, match="IANA"):
            check_timezone(bad)


def test_a_schedule_that_cannot_run_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="IANA"):
        Schedule(timezone="Europe/Nowhere")
    with pytest.raises(ValueError, match="cadence"):
        Schedule(cadence="daily")
    with pytest.raises(ValueError, match="Monday"):
        Schedule(weekday=7)
    with pytest.raises(ValueError, match="which week"):
        Schedule(cadence="monthly", week_of_month=5)
