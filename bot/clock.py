"""`python -m bot clock`: the scheduler process.

APScheduler only provides the heartbeat; what is due lives in our own tables, so a changed
schedule takes effect at the next tick without a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.config import Settings

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def tick(settings: Settings) -> None:
    """Run whatever is due now."""
    log.debug("clock tick")


def _schedule(scheduler: BaseScheduler, settings: Settings, tick_seconds: int) -> None:
    scheduler.add_job(
        tick,
        "interval",
        seconds=tick_seconds,
        args=[settings],
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=dt.datetime.now(dt.UTC),
    )


def start_background(settings: Settings, tick_seconds: int = TICK_SECONDS) -> BackgroundScheduler:
    """The clock inside `serve`, for a one-process install."""
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    _schedule(scheduler, settings, tick_seconds)
    scheduler.start()
    log.info("clock running inside serve: checking every %s s", tick_seconds)
    return scheduler


def run_clock(settings: Settings, tick_seconds: int = TICK_SECONDS) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    _schedule(scheduler, settings, tick_seconds)

    def stop(signum, _frame):
        log.info("clock stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock started: checking every %s s", tick_seconds)
    scheduler.start()
    log.info("clock stopped")
