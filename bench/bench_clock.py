"""How long a clock tick takes with many programs in the database.

Fills a fresh database with N programs (default 10,000) spread over weekdays, times, time
zones and cadences, with a history of closed rounds and members (some paused), then times:

* a quiet tick (nothing due), and how many SQL statements it sends;
* a busy tick: 1% of the programs due in the same minute (Monday noon is popular);
* the worst tick: every program due at once (a long outage);
* the first tick after an upgrade: every program still without a `next_run_at`.

Rounds themselves are replaced by a no-op, so the figures are the clock's own cost (finding,
locking, reading, advancing), not Slack's.

    python bench/bench_clock.py [--programs 10000] [--database-url URL]

With a PostgreSQL URL the benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, insert, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import postgres_schema  # noqa: E402

from bot.common.config import load  # noqa: E402
from bot.domain.schedule import next_run, schedule_of  # noqa: E402
from bot.jobs.clock import Clock  # noqa: E402
from bot.storage.db import dispose_engines, engine_for, migrate  # noqa: E402
from bot.storage.models import Member, Program, Round  # noqa: E402

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
         "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "UTC"]
CADENCES = ["weekly"] * 6 + ["biweekly", "biweekly", "every4weeks", "monthly"]
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday morning


def fill(url: str, programs: int, rounds_each: int, members_each: int, rng: random.Random):
    engine = engine_for(url)
    rows = []
    for n in range(programs):
        cadence = rng.choice(CADENCES)
        row = dict(
            team_id=f"T{n % 50:03d}", channel_id=f"C{n:06d}", enabled=rng.random() > 0.05,
            cadence=cadence, weekday=rng.randrange(5),
            week_of_month=rng.choice([1, 2, 3, 4, -1]) if cadence == "monthly" else None,
            anchor_date=dt.date(2026, 1, 5) if cadence in ("biweekly", "every4weeks") else None,
            time_of_day=f"{rng.randrange(8, 17):02d}:{rng.choice([0, 15, 30, 45]):02d}",
            timezone=rng.choice(ZONES), heads_up=rng.random() < 0.3, group_size=2,
            tz_window_hours=3, allow_guests=False, post_summary=False,
            self_service_levels=False, checkin_after_days=3,
        )
        row["next_run_at"] = next_run(schedule_of(_Row(row)), NOW)
        row["heads_up_sent_for"] = row["next_run_at"] if row["heads_up"] else None
        rows.append(row)
    with engine.begin() as connection:
        connection.execute(insert(Program), rows)
        ids = [r[0] for r in connection.execute(text("SELECT id FROM programs ORDER BY id"))]
        history = [
            dict(program_id=pid, slot=NOW - dt.timedelta(weeks=k + 1), status="delivered",
                 checkin_at=NOW - dt.timedelta(weeks=k + 1, days=-3),
                 checkin_sent_at=NOW - dt.timedelta(weeks=k + 1, days=-3),
                 closes_at=NOW - dt.timedelta(weeks=k), closed_at=NOW - dt.timedelta(weeks=k),
                 created_at=NOW)
            for pid in ids for k in range(rounds_each)
        ]
        for chunk in range(0, len(history), 20000):
            connection.execute(insert(Round), history[chunk : chunk + 20000])
        people = [
            dict(team_id=f"T{n % 50:03d}", user_id=f"U{n:06d}{k:02d}", values={}, sources={},
                 deactivated=False, created_at=NOW, updated_at=NOW,
                 paused_until=(NOW + dt.timedelta(days=rng.randrange(1, 60))).date()
                 if rng.random() < 0.02 else None)
            for n in range(programs) for k in range(members_each)
        ]
        for chunk in range(0, len(people), 20000):
            connection.execute(insert(Member), people[chunk : chunk + 20000])
    return ids


class _Row:
    def __init__(self, row: dict):
        self.__dict__.update(row)


def count_statements(url: str, action) -> tuple[float, int, object]:
    engine = engine_for(url)
    statements = []

    def record(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", record)
    try:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return elapsed, len(statements), result


def set_due(url: str, ids: list[int], slot: dt.datetime) -> None:
    with engine_for(url).begin() as connection:
        for chunk in range(0, len(ids), 900):
            connection.execute(
                update(Program).where(Program.id.in_(ids[chunk : chunk + 900]))
                .values(next_run_at=slot, enabled=True)
            )


def run(
    url: str, programs: int, rounds_each: int, members_each: int, repeat: int
) -> list:
    rng = random.Random(7)
    migrate(url)
    started = time.perf_counter()
    ids = fill(url, programs, rounds_each, members_each, rng)
    if url.startswith("postgresql"):
        with engine_for(url).begin() as connection:
            connection.execute(text("ANALYZE"))
    print(f"filled in {time.perf_counter() - started:.1f} s: {programs} programs, "
          f"{programs * rounds_each} rounds, {programs * members_each} members", file=sys.stderr)
    settings = load({"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench"})
    started_rounds = []

    def no_round(_settings, program_id, slot):
        started_rounds.append(program_id)

    clock = Clock(settings, start_round=no_round, resume_deliveries=lambda s: 0,
                  send_due_checkins=lambda s, n: 0, close_due_rounds=lambda s, n: 0)
    results = []

    quiet = [count_statements(url, lambda: clock.tick(NOW)) for _ in range(repeat)]
    results.append(("quiet tick, nothing due", statistics.median(q[0] for q in quiet),
                    quiet[0][1], 0))

    due_at = NOW - dt.timedelta(minutes=1)  # every other program's slot is after NOW
    for share, label in ((0.01, "busy tick, 1% due in the same minute"),
                         (1.0, "worst tick, every program due at once")):
        chosen = rng.sample(ids, max(1, int(len(ids) * share)))
        set_due(url, chosen, due_at)
        started_rounds.clear()
        elapsed, statements, _ = count_statements(
            url, lambda: clock.tick(NOW)
        )
        assert len(started_rounds) == len(chosen), (len(started_rounds), len(chosen))
        results.append((label, elapsed, statements, len(chosen)))

    with engine_for(url).begin() as connection:
        connection.execute(update(Program).values(next_run_at=None))
    elapsed, statements, report = count_statements(url, lambda: clock.tick(NOW))
    assert report.scheduled == programs, report.scheduled
    results.append(("first tick after an upgrade, all unscheduled", elapsed, statements, 0))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10000)
    parser.add_argument("--rounds-each", type=int, default=10, help="closed rounds per program")
    parser.add_argument("--members-each", type=int, default=10, help="members per program")
    parser.add_argument("--repeat", type=int, default=20, help="quiet ticks to time")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # "missed a slot" lines for thousands of programs

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        postgres = url.startswith("postgresql")
        drop = dispose_engines
        if postgres:
            url, drop = postgres_schema(url, "bench_clock")
        try:
            results = run(url, args.programs, args.rounds_each, args.members_each, args.repeat)
        finally:
            drop()

    backend = "PostgreSQL" if postgres else "SQLite"
    print(f"\n{backend}, {args.programs} programs, {args.programs * args.rounds_each} rounds, "
          f"{args.programs * args.members_each} members\n")
    print("| tick | programs started | SQL statements | time |")
    print("|---|---:|---:|---:|")
    for label, elapsed, statements, started in results:
        print(f"| {label} | {started} | {statements} | {elapsed * 1000:,.1f} ms |")
    quiet = results[0][1]
    print(f"\nquiet tick {'meets' if quiet < 1 else 'MISSES'} the 1 s goal", file=sys.stderr)
    return 0 if quiet < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
