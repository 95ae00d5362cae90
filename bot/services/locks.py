"""Cross-process locks, so several processes on PostgreSQL never plan or deliver twice.

PostgreSQL advisory locks belong to a connection: a process that dies releases its locks
with its connection, so a crash never leaves a round locked. SQLite is one process by
design and needs none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.db import engine_for

PLAN = 1
DELIVER = 2


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
