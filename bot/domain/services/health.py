"""What `/healthz` says: the database answers, and the clock, when this deployment runs one,
ticked lately.

A clock that died silently stops every round, check-in and reminder while Slack's requests
are still answered; the load balancer or orchestrator polling `/healthz` is who notices.
"Lately" is three ticks of that clock (it records how often it ticks), counted from the
later of its last tick and the server's start, so a clock that is just starting is not late.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.domain.services import heartbeat
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

MISSED_TICKS = 3
# A tick's own write takes a moment: the third tick is missed once it is this much overdue.
SLACK_SECONDS = 5.0


def allowed_seconds(tick_seconds: int) -> float:
    """How long a clock ticking every `tick_seconds` may stay silent before it counts as
    stopped (the doctor holds it to the same)."""
    return MISSED_TICKS * tick_seconds + min(SLACK_SECONDS, tick_seconds)


def report(
    database_url: str,
    *,
    clock_tick: int | None,
    started_at: dt.datetime,
    now: dt.datetime | None = None,
) -> tuple[bool, dict]:
    """(healthy, what to show). `clock_tick`: the expected clock's tick in seconds, or None
    when no clock is expected of this deployment (its last tick is still shown if known)."""
    now = now or utcnow()
    body: dict = {"status": "ok", "database": "ok"}
    try:  # reading the last tick is also the database's check: one query per probe
        beat = heartbeat.last_beat(database_url)
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check: database unavailable (%s)", type(error).__name__)
        body.update(status="unavailable", database="unavailable")
        return False, body
    clock: dict = {"expected": clock_tick is not None}
    if beat is not None:
        clock["last_tick"] = beat.at.isoformat(timespec="seconds")
        clock["seconds_since_last_tick"] = round((now - beat.at).total_seconds(), 1)
        clock["tick_seconds"] = beat.tick_seconds
    else:
        clock["last_tick"] = None
    healthy = True
    if clock_tick is not None:
        tick = beat.tick_seconds if beat is not None else clock_tick
        since = max(beat.at, started_at) if beat is not None else started_at
        healthy = (now - since).total_seconds() <= allowed_seconds(tick)
        clock["status"] = "ok" if healthy else "late"
        if not healthy:
            body["status"] = "unavailable"
    body["clock"] = clock
    return healthy, body
