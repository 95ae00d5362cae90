"""Named locks in the database, so no two processes or threads plan, deliver or close at once.

A lock is a row of `locks` claimed with one conditional statement, which is atomic on
SQLite and PostgreSQL alike. The holder renews its lease while it works; a holder that dies
stops renewing, and its lock is taken over once the lease has run out, or at once when the
holder was a process on this machine that no longer exists. So a killed process never
leaves a round locked for long, and a lock never depends on which database is in use.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select, update

from bot.storage.db import insert_missing, log_failure, session_scope
from bot.storage.models import Lock, utcnow

log = logging.getLogger(__name__)

# Lock kinds, each followed by an id in the lock's name.
PLAN = "plan"  # planning a program's round
DELIVER = "deliver"  # delivering a round, or sending its check-ins
CLOCK = "clock"  # a clock handling a program's due slot
CLOSE = "close"  # closing a round: silence counts, nudges, summary

LEASE = dt.timedelta(seconds=60)
RENEW_EVERY = 15.0  # seconds; well inside the lease
WAIT_FIRST, WAIT_MAX = 0.02, 0.5  # seconds between attempts at a busy lock

_HOST = socket.gethostname()[:60]


def _name(kind: str, key: int) -> str:
    return f"{kind}:{key}"


def _new_owner() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_gone(owner: str) -> bool:
    """Whether the owner was a process on this machine that has since ended."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _HOST:
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _claim(url: str, name: str, owner: str) -> bool:
    """One attempt at the lock; True if `owner` holds it now."""
    now = utcnow()
    with session_scope(url) as session:
        taken = session.execute(
            update(Lock)
            .where(Lock.name == name, Lock.expires_at < now)
            .values(owner=owner, expires_at=now + LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount
    if taken:
        return True
    with session_scope(url) as session:
        row = {"name": name, "owner": owner, "expires_at": now + LEASE}
        if insert_missing(session, Lock, [row], ["name"]):
            return True
    with session_scope(url) as session:
        holder = session.scalar(select(Lock.owner).where(Lock.name == name))
    if holder is None or not _owner_gone(holder):
        return False
    with session_scope(url) as session:  # its process died: take over, unless someone did
        return bool(
            session.execute(
                update(Lock)
                .where(Lock.name == name, Lock.owner == holder)
                .values(owner=owner, expires_at=now + LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount
        )


def _release(url: str, name: str, owner: str) -> None:
    with session_scope(url) as session:
        session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


@contextmanager
def _held(url: str, name: str, owner: str) -> Iterator[None]:
    """Renew the lease in the background while the block runs, then release the lock."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(RENEW_EVERY):
            try:
                with session_scope(url) as session:
                    kept = session.execute(
                        update(Lock)
                        .where(Lock.name == name, Lock.owner == owner)
                        .values(expires_at=utcnow() + LEASE)
                        .execution_options(synchronize_session=False)
                    ).rowcount
                if not kept:
                    log.error("lock %s was taken over while still in use", name)
                    return
            except Exception as error:  # the database may be back at the next attempt
                _could_not("renew", name, error)

    renewer = threading.Thread(target=renew, name=f"lock {name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        try:
            _release(url, name, owner)
        except Exception as error:  # the lease runs out by itself
            _could_not("release", name, error)


def _could_not(what: str, name: str, error: Exception) -> None:
    """One line when the database is out of reach for a while (its lease runs out by
    itself); a traceback for anything else."""
    log_failure(log, f"could not {what} lock {name}", error, level=logging.WARNING)


@contextmanager
def hold(database_url: str, kind: str, key: int) -> Iterator[None]:
    """Hold the lock `kind:key` for the block, waiting as long as someone else holds it."""
    name, owner = _name(kind, key), _new_owner()
    wait = WAIT_FIRST
    while not _claim(database_url, name, owner):
        time.sleep(wait)
        wait = min(wait * 2, WAIT_MAX)
    with _held(database_url, name, owner):
        yield


@contextmanager
def try_hold(database_url: str, kind: str, key: int) -> Iterator[bool]:
    """Like hold, but never waits: yields whether this caller got the lock."""
    name, owner = _name(kind, key), _new_owner()
    if not _claim(database_url, name, owner):
        yield False
        return
    with _held(database_url, name, owner):
        yield True
