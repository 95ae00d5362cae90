"""The whole database as one JSON-lines file and back, so an install can move (SQLite to
PostgreSQL, one server to another) keeping its history, and with it the memory of who has
already met whom.

The first line is a header: the file format's version, the schema's Alembic revision and how
many rows each table holds. Then one object per row, `{"table": ..., "row": {...}}`, table by
table in dependency order (a row comes after the rows it refers to), each table by primary key,
so the same database always gives the same file. Times keep their zone and microseconds, JSON
columns their exact content. The file holds the Slack tokens of the installation store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.common.values import parse_level
from bot.storage.db import (
    NEWER_FIX,
    current_revision,
    engine_for,
    head_revision,
    revision_on,
    written_by_newer,
)
from bot.storage.models import Base, UTCDateTime

FORMAT = "worth-knowing-export"
VERSION = 1
BATCH = 1000
# Alembic's own bookkeeping: the header carries the revision instead.
NOT_COPIED = {"alembic_version"}

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in table)


class TransferError(Exception):
    """Something the user can fix (a wrong file, a full target); the message is one line."""


def tables() -> list[sa.Table]:
    """Every table the migrations create, in an order where each follows those it refers to:
    the app's models and slack_sdk's installation and OAuth state stores."""
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    store = SQLAlchemyInstallationStore
    store.build_installations_table(metadata, store.default_installations_table_name)
    store.build_bots_table(metadata, store.default_bots_table_name)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(
        metadata, SQLAlchemyOAuthStateStore.default_table_name
    )
    return list(metadata.sorted_tables)


@dataclass
class Summary:
    revision: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# --- values: how each column type is written and read back ------------------------------


def _kind(column: sa.Column) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "utc"
    if isinstance(kind, sa.DateTime):
        return "utc" if kind.timezone else "naive"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.String):  # Text too
        return "str"
    raise TypeError(f"{column.table.name}.{column.name}: no way to copy {kind!r}")


def _dump(kind: str, value):
    if value is None:
        return None
    if kind in ("utc", "naive", "date"):
        return value.isoformat()
    return value


def _load(kind: str, column: sa.Column, value):
    """The Python value for a column, or ValueError saying what is wrong with it."""
    if value is None:
        if not column.nullable:
            raise ValueError("is empty but must have a value")
        return None
    if kind == "json":
        return value
    if kind in ("utc", "naive"):
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a date and time")
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time") from None
        if kind == "utc" and moment.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone (such as +00:00)")
        if kind == "naive" and moment.tzinfo is not None:
            raise ValueError(f"{value!r} has a time zone; this column holds UTC without one")
        return moment
    if kind == "date":
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "bool":
        return value if isinstance(value, bool) else _not(value, "true or false")
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return _not(value, "a whole number")
        bits = 64 if isinstance(column.type, sa.BigInteger) else 32
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):  # the database would refuse it
            raise ValueError(f"{value} is too large for this column")
        if (column.table.name, column.name) == ("members", "level"):
            parse_level(value)  # 1-9, as every other way in
        return value
    if not isinstance(value, str):
        return _not(value, "text")
    length = getattr(column.type, "length", None)
    if length is not None and len(value) > length:
        raise ValueError(f"is {len(value)} characters long; at most {length} fit")
    return value


def _not(value, what: str):
    raise ValueError(f"{value!r} is not {what}")


def _line(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- export -----------------------------------------------------------------------------


def check_tables(connection: sa.Connection, known: list[sa.Table]) -> None:
    """Refuse a database with a table this code does not know: it would be left behind."""
    present = set(sa.inspect(connection).get_table_names()) - NOT_COPIED
    unknown = sorted(present - {table.name for table in known})
    if unknown:
        raise TransferError(
            f"the database has tables this version of the app does not know ({', '.join(unknown)})"
            ": export with the version that created them"
        )


def export(url: str, out: Path, progress: Progress | None = None) -> Summary:
    """Write the database at `url` to `out` (mode 0600, replaced only once it is complete)."""
    revision = current_revision(url)
    head = head_revision()
    if revision is None:
        raise TransferError(
            "the database at DATABASE_URL is empty (no schema): is DATABASE_URL the one to export?"
        )
    newer = written_by_newer(revision)
    if newer:  # migrate cannot help: this version does not know that schema
        raise TransferError(f"the database at DATABASE_URL was {newer}: {NEWER_FIX}")
    if revision != head:
        raise TransferError(
            f"the database is at schema revision {revision}, this app at {head}: "
            "run `python -m bot migrate` first"
        )
    known = tables()
    engine = engine_for(url)
    if engine.dialect.name == "postgresql":  # one snapshot for the header and every row
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    summary = Summary(revision=head)
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "sqlite":  # pysqlite would not begin before a write
            connection.exec_driver_sql("BEGIN")
        check_tables(connection, known)
        for table in known:
            count = connection.scalar(sa.select(sa.func.count()).select_from(table))
            summary.rows[table.name] = count
        header = {"format": FORMAT, "version": VERSION, "revision": head, "tables": summary.rows}
        with _private_file(out) as stream:
            stream.write(_line(header))
            for table in known:
                _export_table(connection, table, summary.rows[table.name], stream, progress)
    return summary


def _export_table(connection, table: sa.Table, count: int, stream, progress) -> None:
    kinds = [(column.name, _kind(column)) for column in table.columns]
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    done = 0
    for row in result:
        values = {name: _dump(kind, row._mapping[name]) for name, kind in kinds}
        stream.write(_line({"table": table.name, "row": values}))
        done += 1
        if progress and done % BATCH == 0:
            progress(table.name, done, count)
    if progress and count:
        progress(table.name, done, count)


_NOT_FILES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


SQLITE_HEADER = b"SQLite format 3\x00"


def _is_database(path: Path) -> bool:
    """A SQLite database file, or the write-ahead log, shared memory or journal beside one."""
    base = path.with_name(re.sub(r"-(wal|shm|journal)$", "", path.name))
    try:
        with open(base, "rb") as stream:
            return stream.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


@contextmanager
def _private_file(path: Path) -> Iterator[TextIO]:
    """A file only its owner can read, written beside `path` and moved there when complete:
    a failed export leaves no half file, and an existing file is replaced, never widened.
    A link is followed, so the link stays and its file gets the export; a pipe, device or
    directory is refused, since moving a file there would destroy it."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG  # a new file
    except OSError as error:
        raise TransferError(f"cannot write {path}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        what = _NOT_FILES.get(stat.S_IFMT(mode), "a special file")
        what = f"a link to {what}" if path.is_symlink() else what
        raise TransferError(f"cannot write {path}: it is {what}: name a regular file")
    if _is_database(target):  # `export --out` onto DATABASE_URL's own file replaced it
        raise TransferError(
            f"cannot write {path}: it is a SQLite database (or one of its journal files), "
            "not an export: name another file"
        )
    try:
        fd, partial = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
        )
    except OSError as error:
        raise TransferError(f"cannot write {path}: {error.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # mkstemp's default already; said here because it matters
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        os.replace(partial, target)
    except OSError as error:
        raise TransferError(f"cannot write {path}: {error.strerror}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


# --- import -----------------------------------------------------------------------------


def read_header(path: Path) -> dict:
    """The file's header, checked against this app's format and schema."""
    name = path.name
    try:
        with open(path, "rb") as stream:
            first = stream.readline()
    except FileNotFoundError:
        raise TransferError(f"{path}: no such file") from None
    except OSError as error:
        raise TransferError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        header = json.loads(first.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError(
            f"{name} line 1: not a Worth Knowing export (make one with "
            "`python -m bot export --out FILE`)"
        )
    if header.get("version") != VERSION:
        raise TransferError(
            f"{name} line 1: format version {header.get('version')!r}, but this app reads "
            f"version {VERSION}: import it with the app version that exported it"
        )
    head = head_revision()
    if header.get("revision") != head:
        raise TransferError(
            f"{name} line 1: exported at schema revision {header.get('revision')!r}, but this "
            f"app's schema is {head}: export and import with the same app version (upgrade the "
            "source first: `python -m bot migrate`, then export again)"
        )
    counts = header.get("tables")
    if not isinstance(counts, dict) or not all(
        isinstance(n, int) and n >= 0 for n in counts.values()
    ):
        raise TransferError(f"{name} line 1: field 'tables' must give each table's row count")
    return header


def holding_rows(connection: sa.Connection, known: list[sa.Table]) -> dict[str, int]:
    counts = {}
    for table in known:
        count = connection.scalar(sa.select(sa.func.count()).select_from(table))
        if count:
            counts[table.name] = count
    return counts


def import_file(url: str, path: Path, progress: Progress | None = None) -> Summary:
    """Copy the file's rows into the empty, migrated database at `url`, all or nothing."""
    header = read_header(path)
    known = tables()
    by_name = {table.name: table for table in known}
    unknown = sorted(set(header["tables"]) - set(by_name))
    if unknown:
        raise TransferError(f"{path.name} line 1: tables this app does not know: {unknown}")
    summary = Summary(revision=header["revision"], rows=dict.fromkeys(header["tables"], 0))
    engine = engine_for(url)
    with engine.connect() as connection, connection.begin():
        revision = revision_on(connection)
        if revision != header["revision"]:
            raise TransferError(
                f"the database is at schema revision {revision or 'none'}, the file at "
                f"{header['revision']}: run `python -m bot migrate` on it first"
            )
        check_tables(connection, known)
        full = holding_rows(connection, known)
        if full:
            listed = ", ".join(f"{name}: {count}" for name, count in full.items())
            raise TransferError(
                f"the database at DATABASE_URL already holds rows ({listed}): import only into "
                "a new, empty database (create one, point DATABASE_URL at it, run "
                "`python -m bot migrate`, then import again)"
            )
        for table, rows, lines in _rows(path, by_name, header["tables"], summary, progress):
            try:
                _insert(connection, table, rows)
            except (sa.exc.IntegrityError, sa.exc.DataError) as error:
                reason = str(error.orig).strip().splitlines()[0]
                raise TransferError(
                    f"{path.name} lines {lines[0]}-{lines[1]}: rows of {table.name} the database "
                    f"refuses ({reason}); nothing was imported"
                ) from None
        missing = {
            name: (summary.rows.get(name, 0), count)
            for name, count in header["tables"].items()
            if summary.rows.get(name, 0) != count
        }
        if missing:
            name, (got, expected) = next(iter(missing.items()))
            raise TransferError(
                f"{path.name}: {got} rows of table {name}, but its header says {expected}: "
                "the file is incomplete, export it again (nothing was imported)"
            )
        if connection.dialect.name == "postgresql":
            advance_sequences(connection, known)
    return summary


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Many rows a statement. With RETURNING, SQLAlchemy sends them as multi-row INSERTs
    ("insertmanyvalues") instead of psycopg's executemany pipeline, which after a refused row
    logs a warning of its own beside our one line."""
    keys = table.primary_key.columns
    connection.execute(table.insert().returning(*keys), rows).all()


def _rows(
    path: Path, by_name: dict[str, sa.Table], counts: dict[str, int], summary: Summary, progress
) -> Iterator[tuple[sa.Table, list[dict]]]:
    """Batches of checked rows, read a line at a time; TransferError names line and field."""
    name = path.name
    order = [table.name for table in by_name.values()]
    current: sa.Table | None = None
    kinds: dict[str, tuple[sa.Column, str]] = {}
    batch: list[dict] = []
    first = 2
    with open(path, "rb") as stream:
        stream.readline()
        for number, line in enumerate(stream, start=2):
            if not line.strip():
                continue  # a blank line (an editor's last newline): nothing to import
            try:
                item = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                raise TransferError(f"{name} line {number}: not UTF-8 text") from None
            except ValueError:
                raise TransferError(f"{name} line {number}: not a JSON object") from None
            if not isinstance(item, dict) or not isinstance(item.get("row"), dict):
                raise TransferError(f"{name} line {number}: expected {{\"table\": …, \"row\": …}}")
            table = by_name.get(item.get("table"))
            if table is None:
                raise TransferError(
                    f"{name} line {number}: field 'table': unknown table {item.get('table')!r}"
                )
            if table is not current:
                if current is not None and order.index(table.name) < order.index(current.name):
                    raise TransferError(
                        f"{name} line {number}: rows of {table.name} after rows of "
                        f"{current.name}: tables must come in the order export writes them"
                    )
                if batch:
                    yield current, batch, (first, number - 1)
                    batch = []
                first = number
                current = table
                kinds = {column.name: (column, _kind(column)) for column in table.columns}
            row = item["row"]
            for key in row:
                if key not in kinds:
                    raise TransferError(
                        f"{name} line {number}: field {key!r}: table {table.name} has no such column"
                    )
            values = {}
            for key, (column, kind) in kinds.items():
                if key not in row:
                    raise TransferError(f"{name} line {number}: field {key!r} is missing")
                try:
                    values[key] = _load(kind, column, row[key])
                except ValueError as error:
                    raise TransferError(
                        f"{name} line {number}: field {key!r} of {table.name}: {error}"
                    ) from None
            batch.append(values)
            done = summary.rows[table.name] = summary.rows.get(table.name, 0) + 1
            if done > counts.get(table.name, 0):
                raise TransferError(
                    f"{name} line {number}: more rows of {table.name} than the header's "
                    f"{counts.get(table.name, 0)}"
                )
            if len(batch) >= BATCH:
                yield current, batch, (first, number)
                batch = []
                first = number + 1
                if progress:
                    progress(table.name, done, counts[table.name])
    if batch:
        yield current, batch, (first, first + len(batch) - 1)
        if progress:
            progress(current.name, summary.rows[current.name], counts[current.name])


def advance_sequences(connection: sa.Connection, known: list[sa.Table]) -> None:
    """PostgreSQL hands out ids from a sequence that copied rows did not use: move each past
    the largest id copied, so the next row inserted does not collide. (SQLite takes the
    largest id plus one by itself.)"""
    for table in known:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        column = keys[0].name
        sequence = connection.scalar(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": f'"{table.name}"', "column": column},
        )
        if sequence is None:
            continue
        largest = connection.scalar(sa.select(sa.func.max(table.c[column])))
        # setval(seq, n, false): the next value handed out is n itself.
        connection.execute(
            sa.text("SELECT setval(CAST(:sequence AS regclass), :next, false)"),
            {"sequence": sequence, "next": (largest or 0) + 1},
        )
