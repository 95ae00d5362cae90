"""Values a person types or a file holds, checked by one rule wherever they come from.

Here rather than in ``bot.domain.levels`` so that ``preview``'s CSV reader, which must not
depend on the levels package, refuses the same levels the HR import does.
"""

from __future__ import annotations

import datetime as dt
import re

LEVEL_MIN, LEVEL_MAX = 1, 9


class InvalidValue(ValueError):
    """A value no source may store; the message is fit to show the person who typed it."""


def parse_level(text: str | int) -> int:
    """A level typed by a person or found in a file: a whole number from 1 to 9."""
    if isinstance(text, bool):
        raise InvalidValue(f"{text!r} is not a whole number from {LEVEL_MIN} to {LEVEL_MAX}")
    if isinstance(text, int):
        number = text
    else:
        raw = str(text).strip()
        if not re.fullmatch(r"[+]?\d{1,3}", raw):
            raise InvalidValue(f'"{raw}" is not a whole number from {LEVEL_MIN} to {LEVEL_MAX}')
        number = int(raw)
    if not LEVEL_MIN <= number <= LEVEL_MAX:
        raise InvalidValue(f'"{text}" is not a whole number from {LEVEL_MIN} to {LEVEL_MAX}')
    return number


ID_MAX = 2**31 - 1  # the largest id an integer column holds on PostgreSQL


def parse_id(text: object) -> int | None:
    """A row id the app wrote into a button or a modal, read back; None for anything else,
    so that a forged value matches nothing instead of overflowing the database."""
    raw = str(text)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(ID_MAX)):
        return None
    number = int(raw)
    return number if 0 < number <= ID_MAX else None


def parse_moment(seconds: object) -> dt.datetime | None:
    """A time as seconds since 1970 (a date button's value, an event's time); None for one
    no clock holds or that is not a whole number, instead of an OverflowError."""
    raw = str(seconds)
    if not re.fullmatch(r"-?[0-9]{1,20}", raw):
        return None
    try:
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
