"""Slack retries an event it thinks failed; each event id is processed once, in any process.

The first process to insert the id into `processed_events` (its primary key) handles the
event; every later delivery of the same id finds the row and is only acknowledged.
"""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.storage.db import session_scope
from bot.storage.models import ProcessedEvent, utcnow

# Slack gives up retrying after about an hour; a day leaves a wide margin.
KEEP = dt.timedelta(days=1)
# Every this many new events a process also forgets the old ids, so the table stays small.
PRUNE_EVERY = 1000
_seen = itertools.count(1)


def first_time(database_url: str, event_id: str, team_id: str | None) -> bool:
    """Record the event id; False when it was already recorded (a retry or a duplicate)."""
    try:
        with session_scope(database_url) as session:
            session.add(ProcessedEvent(event_id=event_id[:64], team_id=(team_id or None)))
    except IntegrityError:
        return False
    if next(_seen) % PRUNE_EVERY == 0:
        prune(database_url)
    return True


def prune(database_url: str, now: dt.datetime | None = None) -> int:
    """Forget ids old enough that Slack will not send them again."""
    cutoff = (now or utcnow()) - KEEP
    with session_scope(database_url) as session:
        result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))
        return result.rowcount or 0
