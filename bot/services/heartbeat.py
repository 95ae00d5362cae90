"""When a clock last ticked: nothing else shows that scheduled work has stopped running."""

from __future__ import annotations

import datetime as dt

from bot.db import insert_missing, session_scope
from bot.models import ClockTick

CLOCK = "clock"


def record(database_url: str, at: dt.datetime, name: str = CLOCK) -> None:
    """Note a tick (one row per name; several clocks share it, the latest tick wins)."""
    with session_scope(database_url) as session:
        insert_missing(session, ClockTick, [{"name": name, "last_tick_at": at}], ["name"])
        row = session.get(ClockTick, name)
        if row.last_tick_at < at:
            row.last_tick_at = at


def last_tick(database_url: str, name: str = CLOCK) -> dt.datetime | None:
    with session_scope(database_url) as session:
        row = session.get(ClockTick, name)
        return row.last_tick_at if row else None
