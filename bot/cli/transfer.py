"""`python -m bot export` and `python -m bot import`: the database to a file and back."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

from bot.cli.progress import Progress
from bot.cli.runtime import settings_for_command, unreachable
from bot.common.config import ConfigError
from bot.storage import transfer
from bot.storage.db import migrate

TOKENS_WARNING = (
    "The file holds everything, including the Slack tokens of every installed workspace: "
    "export writes it readable by its owner only (mode 0600); keep it that way, and delete "
    "it once the move is done."
)


class _Examples(argparse.HelpFormatter):
    """Wrapped paragraphs, but the epilog's indented command lines kept as they are."""

    def _fill_text(self, text, width, indent):
        return "\n".join(
            line if line.startswith("  ") else super(_Examples, self)._fill_text(line, width, indent)
            for line in text.splitlines()
        )


def add_parser(sub) -> None:
    out = sub.add_parser(
        "export",
        help="write the whole database to a file (to move it, e.g. from SQLite to PostgreSQL)",
        description="Write every table of the database at DATABASE_URL to a JSON-lines file: "
        "a header (format version, schema revision, rows per table), then one line per row. "
        "Reads one consistent snapshot, so the app may keep running, but stop it before a move "
        "so that nothing happens after the export. " + TOKENS_WARNING,
        formatter_class=_Examples,
        epilog="Moving from SQLite to PostgreSQL:\n"
        "  DATABASE_URL=sqlite:///worthknowing.db python -m bot export --out lunch.jsonl\n"
        "  DATABASE_URL=postgresql://app@db/lunch python -m bot import lunch.jsonl",
    )
    out.add_argument("--out", required=True, metavar="FILE", type=Path, help="file to write")
    out.set_defaults(func=cmd_export)

    into = sub.add_parser(
        "import",
        help="load a file written by `export` into a new, empty database",
        description="Load a file written by `python -m bot export` into the database at "
        "DATABASE_URL, which must be empty (it is upgraded to the newest schema first). "
        "All or nothing: a file that is wrong or incomplete imports no row. The file must come "
        "from the same app version (the same schema revision). " + TOKENS_WARNING,
    )
    into.add_argument("file", metavar="FILE", type=Path, help="a file written by `export`")
    into.set_defaults(func=cmd_import)


@contextmanager
def _one_line(status):
    """A refused file or an unreachable database as one line (exit 2); the status line goes."""
    try:
        yield
    except transfer.TransferError as error:
        raise ConfigError(str(error)) from None
    except OperationalError as error:
        raise ConfigError(unreachable(error)) from None
    finally:
        status.done()


def cmd_export(args) -> int:
    settings = settings_for_command(migrate=False, existing=True)
    status, progress = _progress("exporting")
    with _one_line(status):
        summary = transfer.export(settings.database_url, args.out, progress)
    print(
        f"exported {summary.total:,} rows of {len(summary.rows)} tables (schema "
        f"{summary.revision}) to {args.out}, readable by you only: it holds Slack tokens"
    )
    return 0


def cmd_import(args) -> int:
    settings = settings_for_command(migrate=False)
    status, progress = _progress("importing")
    with _one_line(status):
        transfer.read_header(args.file)  # a wrong file changes nothing, not even the schema
        migrate(settings.database_url)
        summary = transfer.import_file(settings.database_url, args.file, progress)
    print(f"imported {summary.total:,} rows of {len(summary.rows)} tables from {args.file}")
    return 0


def _progress(verb: str) -> tuple[Progress, transfer.Progress]:
    """A status line on a terminal (for big databases), and what reports to it."""
    status = Progress(sys.stderr)

    def report(table: str, done: int, total: int) -> None:
        status(f"{verb} {table}: {done:,}/{total:,} rows")

    return status, report
