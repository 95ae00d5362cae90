"""`python -m bot …`: every process and admin tool, with one way of reporting bad input.

A mistake the user can fix (a missing setting, a bad file) is one line on stderr and exit
code 2; nothing here should end in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from bot.cli.runtime import at_least_one, output_failed, settings_for_command, unreachable
from bot.common.config import ConfigError

EXIT_USAGE = 2

# The commands defined elsewhere, by the module whose `add_parser` adds them. Only the module
# of the command being run is imported: each brings what it needs (the matching engine,
# Slack, the database), and a command that needs none of it starts at once.
COMMAND_MODULES = {
    "preview": "bot.cli.preview",
    "levels": "bot.cli.levels",
    "round": "bot.cli.rounds",
    "stats": "bot.cli.rounds",
    "export": "bot.cli.transfer",
    "import": "bot.cli.transfer",
    "doctor": "bot.cli.doctor",
    "demo": "bot.sandbox.command",
    "report": "bot.cli.report",
}


def cmd_migrate(args) -> int:
    from bot.storage.db import current_revision, migrate

    settings = settings_for_command(migrate=False)
    changed = migrate(settings.database_url)
    revision = current_revision(settings.database_url)
    print(f"database at revision {revision}" + ("" if changed else " (already up to date)"))
    return 0


def cmd_serve(args) -> int:
    from bot.cli.serve import serve_http, serve_socket_mode
    from bot.storage.db import migrate

    settings = settings_for_command(migrate=False).require_slack()
    with_clock = args.with_clock
    if with_clock is None:  # one process with SQLite: the web server keeps time too
        with_clock = settings.database_url.startswith("sqlite")
    if with_clock:  # one line now, not a clock child that exits at every restart, for ever
        from bot.jobs.clock import grace_hours, tick_seconds

        tick_seconds()  # CLOCK_TICK_SECONDS
        grace_hours()  # CLOCK_GRACE_HOURS
    migrate(settings.database_url)
    if not with_clock:
        _say_whether_a_clock_runs(settings)
    if settings.socket_mode:
        serve_socket_mode(settings, with_clock)
    else:
        workers = args.workers or settings.web_concurrency
        serve_http(settings, args.host, workers, args.threads, with_clock)
    return 0


def _say_whether_a_clock_runs(settings) -> None:
    """Rounds start only where a clock runs. Serve without one (the default with PostgreSQL)
    says so at start when no clock has ticked lately: an install moved from SQLite to
    PostgreSQL that keeps its serve command would otherwise start no round, in silence."""
    import logging

    from bot.domain.services import heartbeat
    from bot.domain.services.health import MISSED_TICKS, allowed_seconds
    from bot.storage.models import utcnow

    log = logging.getLogger("bot.serve")
    beat = heartbeat.last_beat(settings.database_url)
    tick = beat.tick_seconds if beat else heartbeat.DEFAULT_TICK_SECONDS
    window = MISSED_TICKS * tick
    # judged as /healthz and the doctor judge a clock that runs
    if beat is None or (utcnow() - beat.at).total_seconds() > allowed_seconds(tick):
        log.warning(
            "no clock has ticked in the last %d s and this serve runs none (--no-clock, the "
            "default with PostgreSQL): no round starts until one runs. Run `python -m bot "
            "clock` beside serve (the Procfile's clock), or start serve with --with-clock",
            window,
        )
    else:
        log.info("scheduled work is left to a clock process of its own (it ticked %s ago)",
                 str(utcnow() - beat.at).split(".")[0])  # fmt: skip


def cmd_clock(args) -> int:
    from bot.common import metrics
    from bot.jobs.clock import grace_hours, run_clock, tick_seconds
    from bot.storage.db import migrate

    # one line now, not a traceback at each due round until the grace window has passed
    settings = settings_for_command(migrate=False).require_slack_client()
    metrics.ensure_directory()  # shared with serve's workers, which add the counts up
    grace = grace_hours(args.grace_hours)
    tick = tick_seconds(args.tick)
    migrate(settings.database_url)
    run_clock(settings, tick_seconds=tick, grace=grace, parent_pid=args.parent_pid)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line (and exit code 2) that says
    where to look, not the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: with the command's own module only, when argv names one of
    COMMAND_MODULES; with every command otherwise (no argv, --help, a mistyped command)."""
    parser = _Parser(
        prog="python -m bot",
        description="Worth Knowing: pairs coworkers across levels of the company for lunch.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="answer Slack (HTTP behind gunicorn, or Socket Mode when SLACK_APP_TOKEN is set)",
        description="Serve Slack's requests on POST /slack/events and GET /healthz. "
        "Upgrades the database first.",
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument(
        "--workers", type=at_least_one, default=None,
        help="gunicorn worker processes (default WEB_CONCURRENCY, or 1)"
    )
    serve.add_argument(
        "--threads", type=at_least_one, default=8, help="threads per worker (default 8)"
    )
    clock_choice = serve.add_mutually_exclusive_group()
    clock_choice.add_argument(
        "--with-clock",
        dest="with_clock",
        action="store_true",
        default=None,
        help="also run scheduled work in this process (default with SQLite)",
    )
    clock_choice.add_argument(
        "--no-clock",
        dest="with_clock",
        action="store_false",
        help="leave scheduled work to a separate `clock` process (default with PostgreSQL)",
    )
    serve.set_defaults(func=cmd_serve)

    clock = sub.add_parser(
        "clock",
        help="run the scheduler: rounds, check-ins and reminders on time",
        description="Run scheduled work. Upgrades the database first.",
    )
    clock.add_argument(
        "--tick",
        type=int,
        default=None,
        help="seconds between checks for due work (default CLOCK_TICK_SECONDS, else 30)",
    )
    clock.add_argument(
        "--grace-hours",
        type=float,
        default=None,
        metavar="HOURS",
        help="after downtime, still start a round this many hours after its slot; later ones "
        "are skipped (default CLOCK_GRACE_HOURS, else 24)",
    )
    clock.add_argument(  # set by `serve`, whose child the clock then is
        "--parent-pid", type=int, default=None, help=argparse.SUPPRESS
    )
    clock.set_defaults(func=cmd_clock)

    upgrade = sub.add_parser(
        "migrate",
        help="upgrade the database schema to the newest version",
        description="Upgrade the database at DATABASE_URL; running it again changes nothing.",
    )
    upgrade.set_defaults(func=cmd_migrate)

    name = argv[0] if argv else None
    if name in COMMAND_MODULES:
        modules = [COMMAND_MODULES[name]]
    elif name in sub.choices:  # serve, clock, migrate: above
        modules = []
    else:
        modules = list(COMMAND_MODULES.values())
    for module in dict.fromkeys(modules):
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)  # loads the command's modules, which takes a moment
    except KeyboardInterrupt:  # as in bot/__main__.py: quietly
        return 130
    args = parser.parse_args(argv)
    try:
        code = args.func(args) or 0
        sys.stdout.flush()  # a closed pipe or a full disk shows here, not in Python's exit
        return code
    except OSError as error:
        if not output_failed(error):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush
        if isinstance(error, BrokenPipeError):  # `| head` has all it wanted: no message
            return 128 + signal.SIGPIPE
        print(f"error: cannot write the output ({error.strerror}): free some space, or send "
              "it somewhere else", file=sys.stderr)  # fmt: skip
        return 1
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # any command, when the database is down or refuses
        trouble = _database_trouble(error)
        if trouble is None:
            raise
        print(f"error: {trouble}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # what stands, for the commands whose work is long
        if getattr(args, "interrupted", None):
            print(f"\ninterrupted: {args.interrupted}", file=sys.stderr)
        return 130


def _database_trouble(error: Exception) -> str | None:
    """A database out of reach or refusing a right, as one line; None for anything else.
    Only a command that loaded SQLAlchemy can have raised its errors."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DatabaseError, OperationalError

    from bot.storage.db import refused_rights

    if isinstance(error, OperationalError):
        return unreachable(error)
    if isinstance(error, DatabaseError):
        refused = refused_rights(error)
        return None if refused is None else str(refused)
    return None
