"""Reading members and history from CSV files, with errors a person can act on.

Every problem is an :class:`InputError` whose message is one line naming the file, the line
and the column, so a command can print it and exit instead of showing a traceback. Files are
read by the HR import's reader (separators, quoting, encodings alike), line by line.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.common.csvfile import InputError, parse_table, stream_lines
from bot.common.values import InvalidValue, parse_level
from bot.domain.matching import Person, offset_minutes

HISTORY_COLUMNS = ("date", "user_ids")
MAX_GROUP = 50  # people in one past group; a row naming more is a mistake, not a lunch
FIRST_YEAR, LAST_YEAR = 2000, 2100
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_ZERO = {"utc", "gmt", "z", "+00:00", "-00:00", "+0000", "+00"}


Progress = Callable[[int], None]


@dataclass(frozen=True)
class MemberRow:
    user_id: str
    level: int | None
    department: str | None
    location: str | None
    timezone: ZoneInfo | int | None  # a zone, or a fixed offset in minutes
    manager: str | None = None  # another row's user_id: never grouped together
    avoid: tuple[str, ...] = ()  # user_ids this person is never grouped with

    def person(self, on: datetime.date) -> Person:
        """The member as the engine sees them on a given day (IANA zones shift with DST)."""
        return Person(
            id=self.user_id,
            level=self.level,
            department=self.department,
            location=self.location,
            utc_offset_minutes=offset_minutes(self.timezone, on),
        )


def parse_timezone(text: str) -> ZoneInfo | int:
    """An IANA name (``Europe/Berlin``) or a fixed offset (``+05:30``, ``UTC-3``)."""
    if text.lower() in _ZERO:
        return 0
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        value = int(hours) * 60 + int(minutes or 0)
        if int(minutes or 0) >= 60 or value > 14 * 60:
            raise ValueError(f'"{text}" is not a valid UTC offset')
        return -value if sign == "-" else value
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f'"{text}" is not a known time zone (use a name like Europe/Berlin '
            "or an offset like +05:30)"
        ) from None


def _rows(
    path: Path, required: tuple[str, ...], quoting: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs after checking the header; blank lines are skipped.

    A row with more or fewer cells than the header is refused rather than guessed at: an
    extra cell is most often ids separated by commas, and its ids would silently be lost.
    """
    name = path.name
    header, header_line, records = parse_table(name, stream_lines(path, name))
    for column in required:
        if column not in header:
            raise InputError(
                name, header_line, column,
                f"missing column (the header row has: {', '.join(header)})",
            )  # fmt: skip
    for record in records:
        if record.extra:
            raise InputError(
                name, record.line, None,
                f"has {record.extra} more cell(s) than the header has columns: {quoting}",
            )  # fmt: skip
        if record.missing:
            raise InputError(
                name, record.line, None,
                f"has {record.missing} fewer cell(s) than the header has columns "
                f"({', '.join(header[-record.missing :])} missing): add them; a cell may be empty",
            )  # fmt: skip
        yield record.line, record.cells


def read_members(path: str | Path, progress: Progress | None = None) -> list[MemberRow]:
    """Members from a CSV with a ``user_id`` column and optional level, department,
    location, timezone, email, manager (a user_id or, with an email column, an email) and
    avoid (user_ids separated by spaces) columns."""
    path = Path(path)
    name = path.name
    members: list[MemberRow] = []
    first_line: dict[str, int] = {}
    zones: dict[str, ZoneInfo | int] = {}
    by_email: dict[str, str] = {}
    quoting = "put a cell that holds a comma in quotes (ids in avoid are separated by spaces)"
    for count, (line, row) in enumerate(_rows(path, ("user_id",), quoting), 1):
        user = row["user_id"]
        if not user:
            raise InputError(name, line, "user_id", "is empty")
        if user in first_line:
            raise InputError(
                name, line, "user_id", f'"{user}" appears twice (first on line {first_line[user]})'
            )
        first_line[user] = line
        level = None
        text = row.get("level", "")
        if text:
            try:
                level = parse_level(text)
            except InvalidValue as error:
                raise InputError(name, line, "level", str(error)) from None
        zone = None
        text = row.get("timezone", "")
        if text:
            if text not in zones:
                try:
                    zones[text] = parse_timezone(text)
                except ValueError as error:
                    raise InputError(name, line, "timezone", str(error)) from None
            zone = zones[text]
        manager = row.get("manager") or None
        if manager is not None and manager in (user, row.get("email")):
            raise InputError(name, line, "manager", "is the person themself: a manager is "
                             "someone else")  # fmt: skip
        if row.get("email"):
            by_email.setdefault(row["email"].casefold(), user)
        members.append(
            MemberRow(
                user_id=user,
                level=level,
                department=row.get("department") or None,
                location=row.get("location") or None,
                timezone=zone,
                manager=manager,
                avoid=tuple((row.get("avoid") or "").split()),
            )
        )
        if progress is not None and count % 10_000 == 0:
            progress(count)
    # A manager given by email is whoever has that email in the file, if anyone does.
    return [
        replace(m, manager=by_email.get(m.manager.casefold()))
        if m.manager and "@" in m.manager else m
        for m in members
    ]  # fmt: skip


def read_history(
    path: str | Path, progress: Progress | None = None
) -> tuple[list[datetime.date], list[tuple[str, ...]]]:
    """Past groups from a CSV with ``date`` (YYYY-MM-DD) and ``user_ids`` (space separated).

    Groups of fewer than two people are skipped: they say nothing about who met whom.
    """
    path = Path(path)
    name = path.name
    dates: list[datetime.date] = []
    groups: list[tuple[str, ...]] = []
    parsed: dict[str, datetime.date] = {}
    quoting = "separate the ids in user_ids with spaces, or put the cell in quotes"
    for count, (line, row) in enumerate(_rows(path, HISTORY_COLUMNS, quoting), 1):
        text = row["date"]
        day = parsed.get(text)
        if day is None:
            try:
                day = datetime.date.fromisoformat(text)
            except ValueError:
                raise InputError(
                    name, line, "date", f'"{text}" is not a date (use YYYY-MM-DD)'
                ) from None
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise InputError(
                    name, line, "date", f'"{text}" is not between {FIRST_YEAR} and {LAST_YEAR}'
                )
            parsed[text] = day
        members = tuple(row["user_ids"].split())
        if len(members) > MAX_GROUP:
            raise InputError(
                name, line, "user_ids",
                f"names {len(members):,} people: a past group has at most {MAX_GROUP}",
            )  # fmt: skip
        if len(members) >= 2:
            dates.append(day)
            groups.append(members)
        if progress is not None and count % 10_000 == 0:
            progress(count)
    return dates, groups
