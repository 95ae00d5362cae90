"""A forked process (a gunicorn worker) builds its own engines: it never shares the parent's
pooled connections, and never waits for a lock a parent thread held at the fork."""

from __future__ import annotations

import os
import signal
import threading

from sqlalchemy import text

from bot.storage import db


def _in_child(check) -> bytes:
    """Run `check` in a forked child; its answer (or error) comes back through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            signal.alarm(10)  # a hang becomes a dead child, not a stuck test run
            answer = check()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            answer = f"error: {error!r}"
        os.write(write, answer.encode()[:500])
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 500):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks)


def test_a_forked_child_builds_its_own_engine_while_the_parent_keeps_its_connection(
    migrated_url,
):
    parent = db.engine_for(migrated_url)
    db.ping(migrated_url)
    held, release = threading.Event(), threading.Event()

    def hold_the_cache_lock():
        with db._lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold_the_cache_lock)
    holder.start()
    held.wait()

    def check() -> str:
        engine = db.engine_for(migrated_url)
        db.ping(migrated_url)
        with db.session_scope(migrated_url) as session:
            session.execute(text("SELECT 1"))
        return "own engine" if engine is not parent else "the parent's engine"

    try:
        answer = _in_child(check)
    finally:
        release.set()
        holder.join()
    assert answer == b"own engine"
    # the child left the parent's pooled connection alone: it still works, without a reconnect
    assert parent.pool.checkedin() == 1
    with parent.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
