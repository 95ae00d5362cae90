"""When a program's rounds happen: one pure function from a schedule to its next run.

A schedule is a weekday and a local time in an IANA time zone, repeated weekly, every 2 or
4 weeks, or monthly ("the first Tuesday"). Nothing here touches the database or the clock;
callers pass the instant they mean, so every rule can be tested at any date.

Daylight saving time, decided once for everyone:

* a local time that does not exist that day (02:30 when clocks jump from 02:00 to 03:00)
  runs as much later as the clocks jumped, at 03:30, as most calendars do;
* a local time that happens twice (02:30 when clocks go back from 03:00 to 02:00) runs at
  the first of the two, and only once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKLY = "weekly"
BIWEEKLY = "biweekly"
EVERY_4_WEEKS = "every4weeks"
MONTHLY = "monthly"
# How many weeks apart the rounds of each week-based cadence are.
WEEKS_APART = {WEEKLY: 1, BIWEEKLY: 2, EVERY_4_WEEKS: 4}
CADENCES = (WEEKLY, BIWEEKLY, EVERY_4_WEEKS, MONTHLY)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LAST = -1
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST: "last"}

# Without an anchor, every-2/4-weeks programs count weeks from this Monday.
DEFAULT_ANCHOR = dt.date(2024, 1, 1)
# Longest gap between two slots of any cadence (a monthly "first Monday" can be 5 weeks).
LONGEST_GAP = dt.timedelta(days=35)


@dataclass(frozen=True)
class Schedule:
    """A program's timetable. `weekday` counts from Monday = 0.

    `week_of_month` (1-4, or -1 for the last) is for monthly schedules; `anchor_date` is any
    date in a week that has a round, for every-2/4-weeks schedules.
    """

    cadence: str = WEEKLY
    weekday: int = 0
    time_of_day: dt.time = dt.time(12, 0)
    timezone: str = "UTC"
    week_of_month: int | None = None
    anchor_date: dt.date | None = None

    def __post_init__(self):
        if self.cadence not in CADENCES:
            raise ValueError(
                f"{self.cadence!r} is not a cadence: use weekly, biweekly, every4weeks or monthly"
            )
        if not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday {self.weekday!r} is not 0 (Monday) to 6 (Sunday)")
        if self.cadence == MONTHLY and self.week_of_month not in ORDINALS:
            raise ValueError(
                "a monthly schedule needs which week: first, second, third, fourth or last"
            )
        if self.time_of_day.tzinfo is not None:
            raise ValueError("the time of day is local to the schedule's time zone; give no zone")
        if self.time_of_day.fold:  # a wall-clock time: which side of a DST change is ours
            object.__setattr__(self, "time_of_day", self.time_of_day.replace(fold=0))
        zone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)


# ---------------------------------------------------------------- the next run


def next_run(schedule: Schedule, after: dt.datetime) -> dt.datetime:
    """The first slot of `schedule` strictly after `after`, as an aware UTC datetime."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    tz = schedule.zone
    # A day early: near a DST change a slot's UTC day can differ from `after`'s local day.
    start = after.astimezone(tz).date() - dt.timedelta(days=1)
    for day in _days(schedule, start):
        instant = local_instant(day, schedule.time_of_day, tz)
        if instant > after:
            return instant
    raise AssertionError("unreachable: schedules repeat forever")  # pragma: no cover


def runs(schedule: Schedule, after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` slots after `after` (for "upcoming rounds" lists)."""
    slots: list[dt.datetime] = []
    for _ in range(count):
        after = next_run(schedule, after)
        slots.append(after)
    return slots


def latest_due(
    schedule: Schedule, stored: dt.datetime, now: dt.datetime
) -> tuple[dt.datetime, int]:
    """Which slot to run when `stored` (a slot at or before `now`) is due.

    The latest slot at or before `now` wins; earlier ones were missed (the clock was down),
    and the second value counts them. Only one round ever makes up for a downtime.
    """
    if stored > now:
        raise ValueError("the stored slot is not due yet")
    latest, missed = stored, 0
    # After a long outage only the last weeks matter; older missed slots go uncounted.
    cursor = max(stored, now - 2 * LONGEST_GAP)
    while (candidate := next_run(schedule, cursor)) <= now:
        latest, missed = candidate, missed + 1
        cursor = candidate
    return latest, missed


def local_instant(day: dt.date, time_of_day: dt.time, tz: ZoneInfo) -> dt.datetime:
    """`time_of_day` on `day` in `tz`, as UTC, by the DST rules in this module's docstring.

    With fold=0 a missing wall time takes the offset in force before the jump (so it lands
    as much later as the clocks jumped) and a repeated one takes its first occurrence.
    """
    return dt.datetime.combine(day, time_of_day, tzinfo=tz).astimezone(dt.UTC)


def zone_or_utc(name: str | None) -> ZoneInfo:
    """A person's or program's zone, UTC when it is missing or unknown (Slack's own names
    are IANA names, but a stored one may have been removed from the tz database)."""
    try:
        return zone(name or "UTC")
    except ValueError:
        return ZoneInfo("UTC")


def known_zone(name: str | None) -> str | None:
    """The zone's name if this server's tz database knows it, else None: Slack's database
    may be newer, and a name the server cannot use would leave the person's lunch days
    unworkable; without one, the program's zone stands in."""
    try:
        return zone(name).key if name else None
    except ValueError:
        return None


def local_date(moment: dt.datetime, timezone: str | None) -> dt.date:
    """The date `moment` falls on in this IANA time zone; in UTC when it is missing or
    unknown. People's days (pauses, history, "today") are their own, not UTC's."""
    return moment.astimezone(zone_or_utc(timezone)).date()


def today_in(timezone: str | None, now: dt.datetime | None = None) -> dt.date:
    """Today in this IANA time zone (UTC when it is missing or unknown)."""
    return local_date(now or dt.datetime.now(dt.UTC), timezone)


# The first time zone to start a new day (Pacific/Kiritimati, UTC+14).
EARLIEST_OFFSET = dt.timedelta(hours=14)


def over_somewhere(now: dt.datetime) -> dt.date:
    """Every date before this one has ended somewhere on Earth by `now` (in UTC+14 first)."""
    return (now.astimezone(dt.UTC) + EARLIEST_OFFSET).date()


def next_day_somewhere(now: dt.datetime) -> dt.datetime:
    """When `over_somewhere` moves on to the next date: the next midnight in UTC+14."""
    day = over_somewhere(now) + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) - EARLIEST_OFFSET


def days_later(moment: dt.datetime, days: int, timezone: str | None) -> dt.datetime:
    """The same wall-clock time `days` calendar days after `moment` in this time zone, as
    UTC: across a DST change that is an hour more or less than `days` x 24 h."""
    tz = zone_or_utc(timezone)
    local = moment.astimezone(tz)
    return local_instant(local.date() + dt.timedelta(days=days), local.time(), tz)


def day_ends(day: dt.date, timezone: str | None) -> dt.datetime:
    """The instant `day` is over in this time zone (its next midnight), as UTC."""
    return local_instant(day + dt.timedelta(days=1), dt.time(0), zone_or_utc(timezone))


def _days(schedule: Schedule, start: dt.date):
    """The schedule's dates from `start` on, in order, forever."""
    if schedule.cadence == MONTHLY:
        year, month = start.year, start.month
        while True:
            day = nth_weekday(year, month, schedule.weekday, schedule.week_of_month or 1)
            if day >= start:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    step = WEEKS_APART[schedule.cadence]
    day = start + dt.timedelta(days=(schedule.weekday - start.weekday()) % 7)
    if step > 1:
        anchor = schedule.anchor_date or DEFAULT_ANCHOR
        weeks = (_monday(day) - _monday(anchor)).days // 7
        day += dt.timedelta(weeks=(-weeks) % step)
    while True:
        yield day
        day += dt.timedelta(weeks=step)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-4) or last (-1) given weekday of a month."""
    if n == LAST:
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7, weeks=n - 1)


# ---------------------------------------------------------------- programs


def schedule_of(program) -> Schedule:
    """A program row's (or any object with the same fields') schedule.

    A monthly program without a week of the month runs in the first week.
    """
    week = program.week_of_month
    if program.cadence == MONTHLY and week is None:
        week = 1
    return Schedule(
        cadence=program.cadence,
        weekday=program.weekday,
        time_of_day=parse_time(program.time_of_day),
        timezone=program.timezone,
        week_of_month=week,
        anchor_date=program.anchor_date,
    )


def describe(schedule: Schedule) -> str:
    """In words, e.g. "every Monday at 12:00 Europe/Berlin"."""
    day = WEEKDAYS[schedule.weekday]
    when = f"at {schedule.time_of_day:%H:%M} {schedule.timezone}"
    if schedule.cadence == MONTHLY:
        return f"the {ORDINALS[schedule.week_of_month]} {day} of every month {when}"
    weeks = WEEKS_APART[schedule.cadence]
    if weeks == 1:
        return f"every {day} {when}"
    return f"every {weeks} weeks on {day} {when}"


# ---------------------------------------------------------------- reading what people type


def parse_time(text: str) -> dt.time:
    """A 24-hour "12:00", "9:30" or "14h", or "12pm", "1:30 pm"."""
    raw = (text or "").strip().lower().replace(".", ":")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|h)?", raw)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        suffix = match.group(3)
        if suffix in ("am", "pm"):
            if not 1 <= hour <= 12:
                hour = 99
            else:
                hour = hour % 12 + (12 if suffix == "pm" else 0)
        elif match.group(2) is None and suffix is None:
            hour = 99  # a bare "12" could be anything
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise ValueError(f"{text!r} is not a time of day: write it like 12:00, 09:30 or 1:30pm")


def parse_weekday(text: str) -> int:
    """"mon", "Monday", "tues"… → 0 for Monday to 6 for Sunday."""
    raw = (text or "").strip().lower().rstrip(".")
    if len(raw) >= 2:
        for number, name in enumerate(WEEKDAYS):
            if name.lower().startswith(raw):
                return number
    if raw in ("tues", "thur", "thurs"):
        return 1 if raw == "tues" else 3
    raise ValueError(f"{text!r} is not a day of the week: write it like mon, tuesday or Fri")


_CADENCE_WORDS = {
    "weekly": WEEKLY,
    "every week": WEEKLY,
    "biweekly": BIWEEKLY,
    "fortnightly": BIWEEKLY,
    "every 2 weeks": BIWEEKLY,
    "every other week": BIWEEKLY,
    "every two weeks": BIWEEKLY,
    "every4weeks": EVERY_4_WEEKS,
    "every 4 weeks": EVERY_4_WEEKS,
    "every four weeks": EVERY_4_WEEKS,
    "monthly": MONTHLY,
    "every month": MONTHLY,
}


def parse_cadence(text: str) -> str:
    """"weekly", "every 2 weeks", "fortnightly", "every 4 weeks", "monthly"…"""
    raw = " ".join((text or "").strip().lower().split())
    if raw in _CADENCE_WORDS:
        return _CADENCE_WORDS[raw]
    raise ValueError(
        f"{text!r} is not a cadence: use weekly, every 2 weeks, every 4 weeks or monthly"
    )


_WEEK_WORDS = {
    "1": 1, "1st": 1, "first": 1,
    "2": 2, "2nd": 2, "second": 2,
    "3": 3, "3rd": 3, "third": 3,
    "4": 4, "4th": 4, "fourth": 4,
    "-1": LAST, "last": LAST,
}  # fmt: skip


def parse_week_of_month(text: str) -> int:
    """"first", "2nd", "3", "last" → 1-4, or -1 for the last."""
    raw = (text or "").strip().lower()
    if raw in _WEEK_WORDS:
        return _WEEK_WORDS[raw]
    raise ValueError(
        f"{text!r} is not a week of the month: use first, second, third, fourth or last"
    )


# Files the system's zone database may hold that are no place's time: "localtime" is the
# host's own zone (it differs from host to host, and may be missing), "Factory" a placeholder.
NOT_ZONES = {"localtime", "Factory", "posixrules"}


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() - NOT_ZONES}


def check_timezone(name: str) -> str:
    """The IANA name as spelled in the database ("europe/berlin" → "Europe/Berlin")."""
    raw = (name or "").strip()
    canonical = _zone_names().get(raw.lower())
    if canonical is None and raw.upper() == "UTC":
        canonical = "UTC"
    if canonical is None:
        raise ValueError(
            f"{name!r} is not a time zone: use an IANA name such as Europe/Berlin, "
            "America/New_York or UTC"
        )
    return canonical


@cache
def zone(name: str) -> ZoneInfo:
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone: use an IANA name such as Europe/Berlin, "
            "America/New_York or UTC"
        ) from None
