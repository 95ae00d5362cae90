"""`python -m bot clock`: the scheduler process.

APScheduler only provides the heartbeat: one short job every `tick_seconds`. What is due
lives in our own tables (each program's `next_run_at`), so a schedule changed in Slack takes
effect at the next tick without a restart, and any number of clock processes can share one
PostgreSQL database (see bot/domain/services/due.py for how a slot is claimed once).

Each tick asks the database one question, "is anything due?", and then, only for what is:
closes rounds whose time is up, ends pauses, gives new programs their first slot, starts
due rounds, resumes interrupted deliveries, sends check-ins and posts heads-ups. A failure
in one program is logged and the others go on.

After downtime a program's slot may have passed: the latest missed slot still runs if it is
within the grace window (24 h unless `--grace-hours` or CLOCK_GRACE_HOURS say otherwise),
otherwise it is skipped with a log line saying why. Never more than one round catches up.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from bot.common import logs, metrics
from bot.common.config import ConfigError, Settings
from bot.domain.schedule import latest_due, next_day_somewhere, next_run, over_somewhere
from bot.domain.services import after_lunch, heartbeat, locks, lunches, reminders
from bot.domain.services import due as due_work
from bot.domain.services.delivery import DeliveryStopped
from bot.storage.db import log_failure, session_scope
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 30
STOP_CHECK_SECONDS = 0.5  # how soon a stopping process notices it was asked to stop
GRACE_HOURS = 24.0
# However small the configured grace, a round a few minutes late (a slow tick) still runs.
MIN_GRACE = dt.timedelta(minutes=10)
# Interrupted deliveries are retried at most this often (a revoked token keeps failing).
RESUME_EVERY = dt.timedelta(minutes=5)
# While pauses wait for their people's midnight, pauses are looked at again this often.
PAUSES_LOOKED_AT_AGAIN = dt.timedelta(minutes=15)
# A round that failed before it was planned is retried after 1, 2, 4… minutes, up to 30.
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(minutes=30)

StartRound = Callable[[Settings, int, dt.datetime], object]


def _run_round(settings: Settings, program_id: int, slot: dt.datetime):
    from bot.domain.services.rounds import run_round

    return run_round(settings, program_id, slot, scheduled=True)


def _resume_deliveries(settings: Settings) -> int:
    from bot.domain.services.rounds import resume_deliveries

    return resume_deliveries(settings)


def _send_due_checkins(settings: Settings, now: dt.datetime) -> int:
    from bot.domain.services.rounds import send_due_checkins

    return send_due_checkins(settings, now)


def _close_due_rounds(settings: Settings, now: dt.datetime) -> int:
    from bot.domain.services.rounds import close_due_rounds

    return close_due_rounds(settings, now)


@dataclass
class TickReport:
    """What one tick did; `started` and `skipped` hold (program id, slot)."""

    queried: bool = True
    started: list[tuple[int, dt.datetime]] = field(default_factory=list)
    skipped: list[tuple[int, dt.datetime]] = field(default_factory=list)
    failed: list[tuple[int, dt.datetime]] = field(default_factory=list)
    scheduled: int = 0
    closed: int = 0
    pauses_ended: int = 0
    resumed: int = 0
    checkins: int = 0
    heads_ups: int = 0
    keep_in_touch: int = 0
    lunches: int = 0


@dataclass
class _Retry:
    slot: dt.datetime
    failures: int
    at: dt.datetime


class Clock:
    """The work of one clock process; its memory only spares the database repeated work.

    The services it calls can be replaced (tests count calls instead of talking to Slack).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        grace: dt.timedelta | None = None,
        start_round: StartRound = _run_round,
        resume_deliveries: Callable[[Settings], int] = _resume_deliveries,
        send_due_checkins: Callable[[Settings, dt.datetime], int] = _send_due_checkins,
        close_due_rounds: Callable[[Settings, dt.datetime], int] = _close_due_rounds,
    ):
        self.settings = settings
        self.grace = max(grace if grace is not None else dt.timedelta(hours=GRACE_HOURS), MIN_GRACE)
        self._start_round = start_round
        self._resume = resume_deliveries
        self._checkins = send_due_checkins
        self._close = close_due_rounds
        self._retries: dict[int, _Retry] = {}
        self._next_resume: dt.datetime | None = None
        self._pauses_quiet_until: dt.datetime | None = None
        self._bad_schedules: set[int] = set()
        self._busy = threading.Lock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the program at hand, then do nothing more (the process is shutting down)."""
        self._stopping.set()

    def wait_until_idle(self) -> None:
        """Block until the tick under way, if any, has returned: a process that exited
        during it would cut the round short (no new threads once Python shuts down)."""
        with self._busy:
            pass

    # ------------------------------------------------------------ the tick

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        """Do whatever is due at `now` (default: the current time)."""
        now = now or utcnow()
        report = TickReport()
        if not self._busy.acquire(blocking=False):
            report.queried = False
            return report
        try:
            cutoff = self._pause_cutoff(now)
            with session_scope(self.settings.database_url) as session:
                due = due_work.due_now(session, now, cutoff)
            for kind, waiting in vars(due).items():
                metrics.DUE_WORK.labels(kind).set(1 if waiting else 0)
            if not due or self._stopping.is_set():
                return report
            url = self.settings.database_url
            if due.closes:
                report.closed = self._guard("closing rounds", self._close, self.settings, now)
            if due.pauses:
                self._guard("ending pauses", self._end_pauses, now, cutoff, report)
            if due.unscheduled:
                with session_scope(url) as session:
                    report.scheduled, bad = due_work.schedule_unscheduled(session, now)
                for program_id, error in bad:
                    self._bad_schedule(program_id, error)
                if report.scheduled:
                    log.info("scheduled %d new program(s)", report.scheduled)
            if due.rounds:
                with session_scope(url) as session:
                    program_ids = due_work.due_program_ids(session, now)
                for program_id in program_ids:
                    if self._stopping.is_set():
                        return report
                    with logs.context(program_id=program_id):
                        self._guard(
                            f"the round of program {program_id}", self._program, program_id, now,
                            report,
                        )  # fmt: skip
            if due.deliveries and (self._next_resume is None or now >= self._next_resume):
                self._next_resume = now + RESUME_EVERY
                report.resumed = self._guard("resuming deliveries", self._resume, self.settings)
            if due.checkins:
                report.checkins = self._guard("check-ins", self._checkins, self.settings, now)
            if due.heads_ups:
                report.heads_ups = self._guard(
                    "heads-ups", reminders.send_heads_ups, self.settings, now
                )
            if due.lunches:
                report.lunches = self._guard(
                    "lunch follow-ups", lunches.send_due, self.settings, now
                )
            if due.touches:
                report.keep_in_touch = self._guard(
                    "keep-in-touch reminders", after_lunch.send_reminders, self.settings, now
                )
            return report
        finally:
            self._busy.release()

    @staticmethod
    def _guard(what: str, function, *args):
        try:
            return function(*args) or 0
        except Exception as error:
            _failed(f"clock: {what} failed", error)
            return 0

    # ------------------------------------------------------------ rounds

    def _program(self, program_id: int, now: dt.datetime, report: TickReport) -> None:
        retry = self._retries.get(program_id)
        if retry is not None and now < retry.at:
            return
        url = self.settings.database_url
        with locks.try_hold(url, locks.CLOCK, program_id) as mine:
            if not mine:
                log.debug("program %s is being handled by another clock", program_id)
                return
            with session_scope(url) as session:
                program = due_work.read_program(session, program_id)
            if program is not None:
                logs.note(team_id=program.team_id)
            if program is None or program.next_run_at is None or program.next_run_at > now:
                return  # gone, or another clock has just run it
            if program.schedule is None:
                self._bad_schedule(program_id, program.schedule_error or "")
                return
            stored = program.next_run_at
            slot, missed = latest_due(program.schedule, stored, now)
            following = next_run(program.schedule, now)
            why_not = self._why_not(program, slot, now)
            if why_not:
                self._retries.pop(program_id, None)
                self._advance(program_id, stored, following)
                report.skipped.append((program_id, slot))
                level = logging.DEBUG if not program.enabled else logging.WARNING
                log.log(
                    level,
                    "no round for program %s in %s at %s: %s; next slot %s",
                    program_id, program.channel_id, _iso(slot), why_not, _iso(following),
                )
                return
            if missed:
                log.warning(
                    "program %s in %s missed %d slot(s) while no clock was running; "
                    "only the latest, %s, runs now",
                    program_id, program.channel_id, missed, _iso(slot),
                )
            log.info(
                "starting the round of program %s in %s for %s",
                program_id, program.channel_id, _iso(slot),
            )
            try:
                self._start_round(self.settings, program_id, slot)
            except Exception as error:
                if isinstance(error, DeliveryStopped):  # expected, and mended by a person
                    log.warning("the round of program %s for %s waits: Slack refused the "
                                "workspace's token (%s); reinstall the app there",
                                program_id, _iso(slot), error)  # fmt: skip
                else:
                    _failed(f"the round of program {program_id} for {_iso(slot)} failed", error)
                with session_scope(url) as session:
                    planned = due_work.round_exists(session, program_id, slot)
                if not planned:  # nothing was decided yet: try the same slot again later
                    self._retry_later(program_id, slot, now)
                    report.failed.append((program_id, slot))
                    return
                # The round is planned; its delivery is resumed by a later tick.
            self._retries.pop(program_id, None)
            report.started.append((program_id, slot))
            if self._advance(program_id, stored, following):
                log.info("next round of program %s at %s", program_id, _iso(following))

    def _why_not(self, program: due_work.ProgramSlot, slot: dt.datetime, now: dt.datetime):
        if not program.enabled:
            return "the program is switched off"
        if not program.workspace_active:
            return "the app is not installed in the workspace any more"
        late = now - slot
        if late > self.grace:
            return (
                f"the slot passed {_hours(late)} ago while no clock was running, "
                f"more than the {_hours(self.grace)} grace window"
            )
        return None

    def _advance(self, program_id: int, old: dt.datetime, new: dt.datetime) -> bool:
        with session_scope(self.settings.database_url) as session:
            moved = due_work.advance(session, program_id, old, new)
        if not moved:
            log.info("program %s moved to another slot meanwhile (its schedule changed, or a round "
                     "run by hand stood in for this one); keeping that slot", program_id)
        return moved

    def _retry_later(self, program_id: int, slot: dt.datetime, now: dt.datetime) -> None:
        retry = self._retries.get(program_id)
        failures = retry.failures + 1 if retry is not None and retry.slot == slot else 1
        wait = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
        self._retries[program_id] = _Retry(slot, failures, now + wait)
        log.warning(
            "will try the round of program %s for %s again in %s (within the grace window)",
            program_id, _iso(slot), wait,
        )

    def _bad_schedule(self, program_id: int, error: str) -> None:
        if program_id not in self._bad_schedules:
            self._bad_schedules.add(program_id)
            log.error(
                "program %s has a schedule that cannot run (%s); fix it with /meet schedule",
                program_id, error,
            )

    # ------------------------------------------------------------ pauses

    def _pause_cutoff(self, now: dt.datetime) -> dt.date:
        """Pauses through a date before the cutoff may have ended where their person is: a
        date is over first in UTC+14, 10 h before UTC. While every such pause waits for its
        own midnight, nothing can end, and the "anything due?" question leaves pauses out."""
        if self._pauses_quiet_until is not None and now < self._pauses_quiet_until:
            return dt.date.min
        return over_somewhere(now)

    def _end_pauses(self, now: dt.datetime, cutoff: dt.date, report: TickReport) -> None:
        pauses = reminders.end_pauses(self.settings, now, cutoff)
        report.pauses_ended = pauses.ended
        # Quiet until the first waiting pause ends, or a new date begins somewhere, or a
        # quarter of an hour has passed: a pause set meanwhile "until today" ends at its own
        # midnight, which may come first (it was heard of up to 11 hours late).
        if pauses.waiting_until is None:
            self._pauses_quiet_until = None
        else:
            self._pauses_quiet_until = min(pauses.waiting_until, next_day_somewhere(now),
                                           now + PAUSES_LOOKED_AT_AGAIN)  # fmt: skip


def _failed(what: str, error: Exception) -> None:
    """A failure in the log; a database out of reach for a while (a restart, a dropped
    connection) is one line, as the next tick tries again."""
    log_failure(log, what, error, then="; trying again at the next tick")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h"


# ---------------------------------------------------------------- settings and processes


def grace_hours(value: str | float | None = None, env: dict[str, str] | None = None) -> float:
    """The grace window in hours: `value` if given, else CLOCK_GRACE_HOURS, else 24."""
    source = "--grace-hours"
    if value is None:
        value = (env if env is not None else os.environ).get("CLOCK_GRACE_HOURS")
        source = "CLOCK_GRACE_HOURS"
        if value is None or not str(value).strip():
            return GRACE_HOURS
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 24 * 365:
        raise ConfigError(
            f"{source} is {value!r}: set it to a number of hours such as 24 "
            "(how late a round may still start after the clock was down)"
        )
    return hours


def tick_seconds(value: int | None = None, env: dict[str, str] | None = None) -> int:
    """Seconds between ticks: `value` if given, else CLOCK_TICK_SECONDS, else 30."""
    source, raw = "--tick", value
    if value is None:
        raw = (env if env is not None else os.environ).get("CLOCK_TICK_SECONDS")
        source = "CLOCK_TICK_SECONDS"
        if raw is None or not str(raw).strip():
            return TICK_SECONDS
    seconds = int(raw) if str(raw).strip().isdigit() else 0
    if not 1 <= seconds <= 3600:
        raise ConfigError(
            f"{source} is {raw!r}: use a whole number of seconds from 1 to 3600, such as 30"
        )
    return seconds


class _LongTicks(logging.Filter):
    """A tick still busy with rounds when the next is due is normal, not a warning each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def _quiet_apscheduler() -> None:
    # "Running job…" and "…executed successfully" twice a minute drown what matters.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _LongTicks) for f in scheduler_log.filters):
        scheduler_log.addFilter(_LongTicks())


def _schedule(scheduler: BaseScheduler, clock: Clock, tick_seconds: int) -> None:
    def tick() -> None:
        started = time.perf_counter()
        try:
            clock.tick()
        except Exception as error:
            _failed("clock tick failed", error)
        metrics.CLOCK_TICKS.inc()
        metrics.CLOCK_TICK_SECONDS.observe(time.perf_counter() - started)

    def beat() -> None:
        """When the clock last ran, for /healthz and `python -m bot doctor`: a job of its own,
        so a long tick (a big round) is not taken for a dead clock."""
        try:
            heartbeat.record(clock.settings.database_url, utcnow(), tick_seconds)
        except Exception as error:
            _failed("clock: could not note the tick", error)

    _quiet_apscheduler()
    first = dt.datetime.now(dt.UTC)
    for job, job_id, name in ((beat, "beat", "clock heartbeat"), (tick, "tick", "clock tick")):
        scheduler.add_job(
            job,
            "interval",
            seconds=tick_seconds,
            id=job_id,
            name=name,
            max_instances=1,
            coalesce=True,
            next_run_time=first,
        )


def run_clock(
    settings: Settings,
    tick_seconds: int = TICK_SECONDS,
    grace: float | None = None,
    parent_pid: int | None = None,
) -> None:
    """The `clock` process: ticks until SIGTERM or SIGINT, finishing the round under way.

    A round interrupted harder than that (SIGKILL, a crash) keeps its slot due, and the next
    tick of any clock resumes it. Started by `serve` (`parent_pid`), it also stops once that
    process is gone, however it went, so it is never left running on its own.
    """
    hours = grace_hours(grace)
    clock = Clock(settings, grace=dt.timedelta(hours=hours))
    scheduler = BackgroundScheduler(timezone="UTC")
    _schedule(scheduler, clock, tick_seconds)
    # Stopping happens here, once, however many reasons arrive: Ctrl-C reaches serve's whole
    # process group, so the clock gets SIGINT and, from serve stopping, SIGTERM too; and a
    # signal may come before the scheduler runs, which it could not be stopped in.
    # (A list the loop below looks at, not an Event: an Event set from a signal handler can
    # deadlock, should the signal come while the main thread holds the Event's own lock.)
    reasons: list[str] = []

    def stop_for(reason: str) -> None:
        reasons.append(reason)

    signal.signal(signal.SIGTERM, lambda signum, _frame: stop_for(f"signal {signum}"))
    signal.signal(signal.SIGINT, lambda signum, _frame: stop_for(f"signal {signum}"))
    if parent_pid is not None:

        def watch_parent() -> None:
            if os.getppid() != parent_pid:
                stop_for(f"serve, pid {parent_pid}, is gone")

        scheduler.add_job(watch_parent, "interval", seconds=1, id="parent", name="watch serve")
    # The first beat before anything runs: a database this clock may read but not write
    # (a role without rights) is one line now, not a traceback at every tick.
    heartbeat.record(settings.database_url, utcnow(), tick_seconds)
    log.info(
        "clock started: checking every %s s, catching up on rounds up to %s h late",
        tick_seconds, f"{hours:g}",
    )
    scheduler.start()
    while not reasons:
        time.sleep(STOP_CHECK_SECONDS)
    # Later signals change nothing, and one arriving while the interpreter exits would kill
    # it (Python restores the default action then, except for signals it was told to ignore).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log.info("clock stopping (%s)", reasons[0])
    clock.stop()
    scheduler.shutdown(wait=False)
    clock.wait_until_idle()
    log.info("clock stopped")
