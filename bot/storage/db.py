"""Database connections and schema upgrades, the same for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.common.config import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine (and pool) per database URL per process: a forked child builds its own."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection, e.g. before forking or when a test ends."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()


def _after_fork_in_child() -> None:
    """Drop the parent's engines without touching their connections, which the parent still
    uses (SQLAlchemy's pattern for os.fork: dispose(close=False)); and a lock another thread
    held at the fork would stay held here forever, so start with a new one."""
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _sessionmakers.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL lets the web server read while the clock writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL this survives a crashed process; only a power cut can lose a last commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sessions(url: str) -> sessionmaker[Session]:
    engine = engine_for(url)
    with _lock:
        maker = _sessionmakers.get(url)
        if maker is None or maker.kw["bind"] is not engine:
            maker = _sessionmakers[url] = sessionmaker(engine, expire_on_commit=False)
        return maker


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A unit of work: committed if the block ends normally, rolled back otherwise."""
    session = _sessions(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def end_read(session: Session) -> None:
    """End the session's transaction before waiting for Slack, which can take minutes: on
    PostgreSQL a session idle in a transaction is ended once idle_in_transaction_session_timeout
    passes, and its snapshot holds back vacuum. For callers that have only read so far; what
    they read stays loaded (objects are not expired on commit)."""
    session.commit()


def hold(session: Session, model, *where) -> None:
    """Hold the rows `where` picks until this transaction ends: another session's
    read-modify-write of them waits here, then reads what this one wrote (two clicks at once
    each read the other's choice as not made yet). PostgreSQL: SELECT … FOR UPDATE. SQLite
    has no row locks, and reads take none: a write (of nothing) takes the database's write
    lock, held to commit. Objects this session loaded before are read again by the caller."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(*where).values(id=model.id))
    else:
        session.execute(select(model.id).where(*where).with_for_update())


def insert_missing(session: Session, model, rows: list[dict], keys: list[str]) -> int:
    """INSERT the rows whose keys are not taken yet; a row another process inserted first is
    left as it is (ON CONFLICT DO NOTHING, which SQLite and PostgreSQL both speak).
    Returns how many rows this call inserted (counted with RETURNING: psycopg reports no
    rowcount for it)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    key = getattr(model, keys[0])
    inserted = 0
    for start in range(0, len(rows), 500):
        statement = insert(model).values(rows[start : start + 500])
        statement = statement.on_conflict_do_nothing(index_elements=keys).returning(key)
        inserted += len(session.execute(statement).all())
    return inserted


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# PostgreSQL's SQLSTATEs for "permission denied", and for a search_path schema the role may
# not use ("no schema has been selected to create in").
REFUSED_RIGHTS = {"42501", "3F000"}


def refused_rights(error: DatabaseError) -> ConfigError | None:
    """The database refuses this user a right it needs (PostgreSQL): one line saying which,
    and what to grant. None for any other error."""
    if getattr(error.orig, "sqlstate", None) not in REFUSED_RIGHTS:
        return None
    reason = str(error.orig).strip().splitlines()[0]
    return ConfigError(
        f"the database at DATABASE_URL refuses this user ({reason}): grant the role it names "
        "USAGE and, for a new database, CREATE on the schema, and SELECT, INSERT, UPDATE and "
        "DELETE on the app's tables, or use the role that owns them"
    )


def current_revision(url: str) -> str | None:
    """A file that is no database (SQLite reads its header first) is the user's to fix, like a
    bad setting, and nothing is written to it; a database out of reach is the caller's to say."""
    try:
        with engine_for(url).connect() as connection:
            return revision_on(connection)
    except OperationalError:
        raise  # out of reach or refused (bot/cli/runtime.py says so)
    except DatabaseError as error:
        refused = refused_rights(error)
        if refused is not None:
            raise refused from None
        reason = str(error.orig).strip().splitlines()[0]
        raise ConfigError(
            f"cannot use the database at DATABASE_URL ({reason}): point DATABASE_URL at a "
            "Worth Knowing database, or at a new file name to start an empty one"
        ) from None


def revision_on(connection) -> str | None:
    """The schema revision, read inside the caller's own transaction from Alembic's table
    (None on a new database), without Alembic itself: importing it costs a command 0.1 s of
    its 1 s start, and it is needed only to upgrade."""
    if not sa_inspect(connection).has_table(VERSION_TABLE):
        return None
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(found) > 1:  # one chain of migrations has one head; Alembic refuses the same
        raise ConfigError(
            f"the database at DATABASE_URL holds several schema revisions ({', '.join(found)}): "
            f"leave only the newest in its {VERSION_TABLE} table, or point DATABASE_URL at "
            "another database"
        )
    return found[0] if found else None


VERSION_TABLE = "alembic_version"
REVISION = re.compile(r'^(down_)?revision\s*(?::[^=]*)?=\s*"([^"]*)"', re.MULTILINE)


@functools.cache
def _revisions() -> dict[str, str | None]:
    """Each migration's revision and the one it follows, read from the scripts once a
    process (they ship with the code) as Alembic's own header lines."""
    chain: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict((bool(down), value) for down, value in REVISION.findall(script.read_text()))
        chain[found[False]] = found.get(True)
    return chain


def head_revision() -> str | None:
    """The newest revision: the one no other migration follows."""
    chain = _revisions()
    heads = set(chain) - set(chain.values())
    return next(iter(heads)) if heads else None


NEWER_FIX = "upgrade Worth Knowing, or point DATABASE_URL at this version's database"


def written_by_newer(revision: str | None) -> str | None:
    """How to say that a newer version of the app wrote the database: this one can neither
    read nor upgrade a schema it has no migration for. None when it did not."""
    if revision is None or revision in _revisions():
        return None
    return f"written by a newer version of Worth Knowing (revision {revision} unknown to this one)"


def migrate(url: str) -> bool:
    """Upgrade the schema to the newest revision; return whether anything changed."""
    before = current_revision(url)
    if before == head_revision():
        return False
    newer = written_by_newer(before)
    if newer:
        raise ConfigError(f"the database at DATABASE_URL was {newer}: {NEWER_FIX}")
    from alembic import command

    config = alembic_config(url)
    try:
        with schema_change(url) as connection:
            _only_migrator(connection)
            before = revision_on(connection)  # another process may have upgraded meanwhile
            if before == head_revision():
                return False
            if before is None:
                _empty_or_refuse(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DatabaseError as error:
        raise refused_rights(error) or error from None
    log.info("database upgraded from %s to %s", before or "empty", head_revision())
    return True


@contextmanager
def schema_change(url: str) -> Iterator:
    """A connection to change the schema on, in one transaction. On SQLite with foreign keys
    off: Alembic changes a SQLite table by copying it, dropping the old one and renaming the
    copy, and with foreign keys on, that DROP first deletes every row and, through ON DELETE
    CASCADE, every row that refers to one: an upgrade emptied rounds, groups and
    participations. (The pragma does nothing inside a transaction, so it comes first.)"""
    with engine_for(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            if sqlite:  # the pool hands this connection out again
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


MIGRATION_LOCK = 0x574B_0001  # PostgreSQL advisory lock key: "WK", migrations


def _only_migrator(connection) -> None:
    """One process upgrades at a time, until its transaction ends: several processes started
    at once on a new database (serve, clock, a command) otherwise create the same tables
    together ("table admins already exists"). SQLite: a write lock taken at once (its DDL
    runs in the transaction); PostgreSQL: an advisory lock."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _empty_or_refuse(connection) -> None:
    """A database without this app's revision is created into only if it is empty: pointed
    at another application's database by mistake, even a read-only command would add some
    twenty tables to it."""
    others = sorted(sa_inspect(connection).get_table_names())
    if others:
        listed = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise ConfigError(
            f"the database at DATABASE_URL holds other tables ({listed}) and none of Worth "
            "Knowing's: point DATABASE_URL at an empty database or at this app's own"
        )


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, made absolute as SQLite would open it (a relative one is
    in the working directory); None for another database, or one only in memory."""
    if not url.startswith("sqlite"):
        return None
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:") or parsed.query.get("uri") == "true":
        return None
    return Path(os.path.abspath(parsed.database))


def out_of_reach(error: BaseException) -> str | None:
    """Why the database could not do its part just now, in one line (the driver's first line
    of reason, never the URL), when that is a passing trouble: the server restarting or out of
    reach, a connection dropped, a lock or statement timeout. None for any other error. The
    work is simply tried again later, so a traceback would only bury the one line that says
    what happened."""
    if not isinstance(error, DBAPIError):
        return None
    if not (isinstance(error, OperationalError) or error.connection_invalidated):
        return None
    reason = str(error.orig or error).strip().splitlines()
    return reason[0] if reason else type(error.orig or error).__name__


def log_failure(
    logger: logging.Logger, what: str, error: BaseException, *, then: str = "",
    level: int = logging.ERROR,
) -> None:
    """`what` failed: while the database is out of reach (:func:`out_of_reach`) one WARNING
    line saying so (and `then`, what happens next); for anything else, `what` at `level`
    with its traceback."""
    why = out_of_reach(error)
    if why is None:
        logger.log(level, "%s", what, exc_info=error)
    else:
        logger.warning("%s: the database is out of reach (%s)%s", what, why, then)


def ping(url: str) -> None:
    with engine_for(url).connect() as connection:
        connection.execute(text("SELECT 1"))
