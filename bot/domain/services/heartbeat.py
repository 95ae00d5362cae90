"""When a clock last ticked: nothing else shows that scheduled work has stopped running.

One row in the database, so every process sees it: the web workers' `/healthz`, the doctor,
whichever machine they run on. It also says how often that clock ticks, since "three missed
ticks" means 90 s for the default clock and 3 s for one started with `--tick 1`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update

from bot.storage.db import insert_missing, session_scope
from bot.storage.models import ClockTick

CLOCK = "clock"  # one row: several clocks share it, the latest tick wins
DEFAULT_TICK_SECONDS = 30


@dataclass(frozen=True)
class Beat:
    at: dt.datetime
    tick_seconds: int


def record(database_url: str, at: dt.datetime, tick_seconds: int = DEFAULT_TICK_SECONDS) -> None:
    """One statement a tick once the row exists (the update); a later tick already noted by
    another clock is kept."""
    with session_scope(database_url) as session:
        moved = session.execute(
            update(ClockTick)
            .where(ClockTick.name == CLOCK, ClockTick.last_tick_at < at)
            .values(last_tick_at=at, tick_seconds=tick_seconds)
        ).rowcount
        if not moved:  # the first tick ever (or an older one than the row's: nothing to add)
            row = {"name": CLOCK, "last_tick_at": at, "tick_seconds": tick_seconds}
            insert_missing(session, ClockTick, [row], ["name"])


def last_beat(database_url: str) -> Beat | None:
    with session_scope(database_url) as session:
        row = session.get(ClockTick, CLOCK)
        if row is None:
            return None
        return Beat(row.last_tick_at, row.tick_seconds or DEFAULT_TICK_SECONDS)


def last_tick(database_url: str) -> dt.datetime | None:
    beat = last_beat(database_url)
    return beat.at if beat else None
