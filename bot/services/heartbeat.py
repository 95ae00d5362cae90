"""When a clock last ticked: nothing else shows that scheduled work has stopped running."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from bot.db import insert_missing, session_scope
from bot.models import ClockTick

CLOCK = "clock"  # one row: several clocks share it, the latest tick wins


def record(database_url: str, at: dt.datetime) -> None:
    with session_scope(database_url) as session:
        if not insert_missing(session, ClockTick, [{"name": CLOCK, "last_tick_at": at}], ["name"]):
            session.execute(
                update(ClockTick)
                .where(ClockTick.name == CLOCK, ClockTick.last_tick_at < at)
                .values(last_tick_at=at)
            )


def last_tick(database_url: str) -> dt.datetime | None:
    with session_scope(database_url) as session:
        row = session.get(ClockTick, CLOCK)
        return row.last_tick_at if row else None
