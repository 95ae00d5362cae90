"""Reading members and history from CSV files, with errors a person can act on.

Every problem is an :class:`InputError` whose message is one line naming the file, the line
and the column, so a command can print it and exit instead of showing a traceback.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.common.csvfile import InputError, stream_lines
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


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs after checking the header; blank lines are skipped."""
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(name, None, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(name, None, None, "is a directory, not a file") from None
    except OSError as error:
        raise InputError(name, None, None, error.strerror or "cannot be read") from None
    with handle:
        named: list[str] = []  # the header's columns, once read, to name fields in errors
        reader = csv.reader(stream_lines(handle, name, named))
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise InputError(name, 1, None, f"empty file; expected a header row with "
                                 f"{', '.join(required)}")
            header_line = reader.line_num
            columns = [cell.strip().lower() for cell in header]
            named.extend(columns)
            for column in required:
                if column not in columns:
                    raise InputError(
                        name, header_line, column,
                        f"missing column (the header row has: {', '.join(header)})",
                    )
            seen: set[str] = set()
            for column in columns:
                if column and column in seen:
                    raise InputError(name, header_line, column, "column appears twice")
                seen.add(column)
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                row = {c: (cells[i].strip() if i < len(cells) else "")
                       for i, c in enumerate(columns) if c}
                yield reader.line_num, row
        except UnicodeDecodeError:
            raise InputError(name, None, None, "is not UTF-8 text") from None
        except csv.Error as error:
            raise InputError(name, reader.line_num, None, f"not valid CSV ({error})") from None


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
    for count, (line, row) in enumerate(_rows(path, ("user_id",)), 1):
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
                level = int(text)
            except ValueError:
                raise InputError(name, line, "level", f'"{text}" is not a whole number') from None
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
    for count, (line, row) in enumerate(_rows(path, HISTORY_COLUMNS), 1):
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
