"""How long `export` and `import` take for a big install, and how big the file is.

Fills a SQLite database with a company's history: P programs of 40 people each, a year of
weekly rounds (52 per program) with 20 groups each, their members, check-in answers and
people's level sources. Then times `export` of it, `import` of the file into a fresh SQLite
database and, with --database-url, into PostgreSQL (a schema of its own, dropped afterwards).

    python bench/bench_transfer.py [--programs 100] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import postgres_schema  # noqa: E402

from bot.storage import transfer  # noqa: E402
from bot.storage.db import dispose_engines, engine_for, migrate  # noqa: E402
from bot.storage.models import Group, GroupMember, Member, Program, Round  # noqa: E402

PEOPLE = 40
WEEKS = 52
START = dt.datetime(2025, 1, 6, 11, 0, tzinfo=dt.UTC)


def fill(url: str, programs: int) -> int:
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(
            insert(Member),
            [
                dict(team_id="T1", user_id=f"U{p:04d}{i:02d}", level=1 + i % 9,
                     values={"level": {"admin": 1 + i % 9, "title": 1 + i % 7}},
                     sources={"level": "admin"}, timezone="Europe/Berlin",
                     title="Senior Engineer", created_at=START, updated_at=START)
                for p in range(programs) for i in range(PEOPLE)
            ],
        )
        connection.execute(
            insert(Program),
            [dict(team_id="T1", channel_id=f"C{p:05d}", created_at=START) for p in range(programs)],
        )
        program_ids = list(connection.scalars(select(Program.id).order_by(Program.id)))
        connection.execute(
            insert(Round),
            [
                dict(program_id=pid, slot=START + dt.timedelta(weeks=w), status="closed", seed=w,
                     checkin_at=START + dt.timedelta(weeks=w, days=3),
                     closes_at=START + dt.timedelta(weeks=w, days=7),
                     closed_at=START + dt.timedelta(weeks=w, days=7), created_at=START)
                for pid in program_ids for w in range(WEEKS)
            ],
        )
        rounds = connection.execute(select(Round.id, Round.program_id).order_by(Round.id)).all()
        index = {pid: p for p, pid in enumerate(program_ids)}
        groups = [
            dict(round_id=rid, position=g, organiser_id=f"U{index[pid]:04d}{2 * g:02d}",
                 starter="What was your first job?", delivery="posted",
                 conversation_id=f"G{rid}{g}", message_ts=f"1700000000.{rid:06d}",
                 outcome="met" if (rid + g) % 3 == 0 else None, responders=[],
                 post_started_at=START)
            for rid, pid in rounds for g in range(PEOPLE // 2)
        ]
        for start in range(0, len(groups), 20_000):
            connection.execute(insert(Group), groups[start : start + 20_000])
        rows = connection.execute(
            select(Group.id, Group.position, Round.program_id, Round.seed)
            .join(Round, Round.id == Group.round_id)
        ).all()
        members = [
            dict(group_id=gid, user_id=f"U{index[pid]:04d}{(pos + k * (seed + 1)) % PEOPLE:02d}")
            for gid, pos, pid, seed in rows for k in (0, 1)
        ]
        members = [m for n, m in enumerate(members) if n % 2 == 0 or m != members[n - 1]]
        for start in range(0, len(members), 20_000):
            connection.execute(insert(GroupMember), members[start : start + 20_000])
    return sum(transfer_counts(url).values())


def transfer_counts(url: str) -> dict[str, int]:
    with engine_for(url).connect() as connection:
        return transfer.holding_rows(connection, transfer.tables())


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=100)
    parser.add_argument("--database-url", help="also import into this PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = f"sqlite:///{tmp}/source.db"
        migrate(source)
        rows = fill(source, args.programs)
        out = Path(tmp) / "lunch.jsonl"
        print(f"{rows:,} rows ({args.programs} programs, {WEEKS} rounds each)")
        seconds = timed(lambda: transfer.export(source, out))
        size = out.stat().st_size
        print(f"export from SQLite: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, "
              f"file {size / 1e6:.1f} MB ({size / rows:.0f} bytes a row)")
        target = f"sqlite:///{tmp}/target.db"
        migrate(target)
        seconds = timed(lambda: transfer.import_file(target, out))
        print(f"import into SQLite: {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
        if args.database_url:
            url, drop = postgres_schema(args.database_url)
            try:
                migrate(url)
                seconds = timed(lambda: transfer.import_file(url, out))
                print(f"import into PostgreSQL: {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
                again = Path(tmp) / "again.jsonl"
                seconds = timed(lambda: transfer.export(url, again))
                print(f"export from PostgreSQL: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, "
                      f"same file: {'yes' if again.read_bytes() == out.read_bytes() else 'NO'}")
            finally:
                drop()
        dispose_engines()
    return 0


if __name__ == "__main__":
    sys.exit(main())
