"""Cross-process locks, so several processes on PostgreSQL never plan or deliver twice.

PostgreSQL advisory locks belong to a connection: a process that dies releases its locks
with its connection, so a crash never leaves a round locked. SQLite is one process by
design and needs none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.db import engine_for

# Lock kinds: the first key of PostgreSQL's two-key advisory locks.
PLAN = 1  # planning a program's round
DELIVER = 2  # delivering a round
CLOCK = 3  # a clock handling a program's due slot

# Within one process (SQLite, or serve --with-clock beside a manual run) threads take turns.
_local: dict[tuple[str, int, int], threading.Lock] = {}
_local_guard = threading.Lock()


@contextmanager
def advisory_lock(database_url: str, kind: int, key: int) -> Iterator[None]:
    engine = engine_for(database_url)
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:kind, :key)"), {"kind": kind, "key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:kind, :key)"), {"kind": kind, "key": key}
            )
            connection.commit()


@contextmanager
def try_advisory_lock(database_url: str, kind: int, key: int) -> Iterator[bool]:
    """Like advisory_lock, but never waits: yields whether this process got the lock."""
    engine = engine_for(database_url)
    if engine.dialect.name != "postgresql":
        with _local_guard:
            lock = _local.setdefault((database_url, kind, key), threading.Lock())
        got = lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    args = {"kind": kind, "key": key}
    with engine.connect() as connection:
        got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:kind, :key)"), args))
        connection.commit()  # the lock belongs to the connection, not to a transaction
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:kind, :key)"), args)
                connection.commit()
