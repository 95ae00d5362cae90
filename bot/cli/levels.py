"""`python -m bot levels …`: the admin's tools for levels, departments and locations.

Bad input is one line on stderr naming the file, line and column, with exit code 2.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.cli.runtime import (
    output_failed,
    settings_for_command,
    unreachable,
    workspace_for_command,
)
from bot.common import config
from bot.common.config import ConfigError, Settings
from bot.common.csvfile import InputError, write_csv
from bot.domain.levels.admin import UnknownField, current_mapping, map_fields, set_title_rules
from bot.domain.levels.importer import import_levels, walk_users
from bot.domain.levels.profiles import sync_profiles
from bot.domain.levels.report import explain, export_csv, export_rows, export_table
from bot.domain.levels.sources import InvalidValue, opted_out_everywhere
from bot.domain.levels.titles import read_rules, rules_for
from bot.slack.client import REACH_SLACK, TOKEN_ERRORS, cannot_reach, reason, slack_answered
from bot.storage.models import Member

EXIT_PARTIAL = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """One line for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def _client(settings: Settings, team_id: str | None) -> WebClient:
    from bot.domain.services.workspaces import NotInstalled, client_for_team

    try:
        # A person is waiting: Slack out of reach, or a refused token, is said in seconds,
        # before the patient client (eight retries, for the many calls to come) is made. A
        # bot token was already asked about by workspace_for_command; an installation was not.
        if settings.oauth:
            client_for_team(settings, team_id, quick=True).auth_test()
        return client_for_team(settings, team_id)
    except NotInstalled as error:
        raise CommandError(str(error)) from None


class _Line:
    """The progress line on stderr: whether it waits for its end, so that an error is said on
    a line of its own."""

    open = False

    @classmethod
    def say(cls, text: str, last: bool) -> None:
        print(f"\r{text}", end="\n" if last else "", file=sys.stderr, flush=True)
        cls.open = not last

    @classmethod
    def end(cls) -> None:
        if cls.open:
            print(file=sys.stderr, flush=True)
            cls.open = False


def _progress(label: str) -> Callable[[int, int], None] | None:
    """Progress on stderr, only when a person is watching it."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        _Line.say(f"{label} {done}/{total}", done >= total)

    return report


def _reading() -> Callable[[int, bool], None] | None:
    """The walk of the workspace's members on stderr, only when a person is watching it:
    users.list gives some 4,000 people a minute, so a large workspace takes minutes."""
    if not sys.stderr.isatty():
        return None

    def report(people: int, last: bool) -> None:
        _Line.say(f"reading the workspace's members: {people:,}", last)

    return report


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every expected failure becomes one line on stderr and an exit code, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            try:
                return func(args)
            except Exception:
                _Line.end()  # the error's line does not follow a count on the same line
                raise
        except (InputError, InvalidValue, UnknownField, ConfigError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except CommandError as error:
            print(f"error: {error}", file=sys.stderr)
            return error.code
        except SlackApiError as error:
            code = reason(error)
            hint = ""
            if code in TOKEN_ERRORS:
                hint = ": check the bot token and that the app is installed with its scopes"
            print(f"error: {slack_answered(error)}{hint}", file=sys.stderr)
            return EXIT_USAGE if code in TOKEN_ERRORS else EXIT_PARTIAL
        except OSError as error:
            if output_failed(error):
                raise  # our own output, said by the command line as for every command
            reach = cannot_reach(config.load(), error)  # settings are sound: Slack was called
            print(f"error: {reach}: {REACH_SLACK}", file=sys.stderr)
            return EXIT_PARTIAL
        except OperationalError as error:  # nothing was applied: not "some rows skipped"
            print(f"error: {unreachable(error)}", file=sys.stderr)
            return EXIT_USAGE

    return run


@_guarded
def cmd_import(args) -> int:
    from bot.storage.db import session_scope

    settings, team_id = workspace_for_command(args.team)
    client = _client(settings, team_id)
    try:
        with session_scope(settings.database_url) as session:
            report = import_levels(
                client,
                session,
                team_id,
                args.file,
                dry_run=args.dry_run,
                strict=args.strict,
                progress=_progress("importing"),
                reading=_reading(),
            )
    except KeyboardInterrupt:  # before the commit, which saves the whole file at once
        _Line.open = False  # the message starts on a line of its own
        print(f"\ninterrupted: nothing from {args.file} was saved (an import is saved whole "
              "or not at all); run it again to import it", file=sys.stderr)  # fmt: skip
        return 128 + signal.SIGINT
    print(report.summary(verdict=not report.refused))
    if report.refused:  # every row unusable, or --strict: one line, as for a bad file
        print(f"error: {report.file}: {report.verdict}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_PARTIAL if report.problems else 0


@_guarded
def cmd_export(args) -> int:
    from bot.storage.db import session_scope

    settings = settings_for_command(existing=True)
    with session_scope(settings.database_url) as session:
        rows = export_rows(session, args.team)
    if args.csv:
        sys.stdout.write(export_csv(rows))
    elif rows:
        print(export_table(rows))
    else:
        print(
            "no levels, departments or locations stored"
            + (f" for {args.team}" if args.team else "")
        )
    return 0


def _user(text: str) -> str:
    """A user id as Slack writes it (upper case, as the import reads ids too), from an id or a
    mention; anything else (an email) as given."""
    match = re.fullmatch(r"<?@?([UuWw][A-Za-z0-9]+)(?:\|[^>]*)?>?", text.strip())
    return match.group(1).upper() if match else text.strip()


@_guarded
def cmd_explain(args) -> int:
    from bot.storage.db import session_scope

    settings, team_id = workspace_for_command(args.team)
    user_id = _user(args.user)
    if user_id in ("", "<@>"):
        raise CommandError("name the person: a user id such as U012AB3CD, <@U012AB3CD> or an email")
    if "@" in user_id:
        try:
            user_id = _client(settings, team_id).users_lookupByEmail(email=user_id)["user"]["id"]
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                raise CommandError(f'no Slack user with email "{args.user}"') from None
            raise
    with session_scope(settings.database_url) as session:
        print(explain(session, team_id, user_id).text())
    return 0


@_guarded
def cmd_map(args) -> int:
    from bot.storage.db import session_scope

    settings, team_id = workspace_for_command(args.team)
    labels = {
        "level": args.level_field,
        "department": args.department_field,
        "location": args.location_field,
        "manager": args.manager_field,
    }
    labels = {attribute: label for attribute, label in labels.items() if label is not None}
    with session_scope(settings.database_url) as session:
        if not labels:
            mapping = current_mapping(session, team_id)
        else:
            needs_check = any(labels.values())
            client = _client(settings, team_id) if needs_check else None
            mapping = map_fields(session, team_id, client, **labels)
    print(f"profile fields read for workspace {team_id}:")
    print("\n".join("  " + line for line in mapping.lines()))
    if labels:
        print("profiles are read when people join and at each round (`levels sync` reads now)")
    return 0


@_guarded
def cmd_titles(args) -> int:
    from bot.storage.db import session_scope

    settings, team_id = workspace_for_command(args.team, offline=True)
    with session_scope(settings.database_url) as session:
        if args.file and args.reset:
            raise CommandError("give a FILE.csv or --reset, not both")
        if args.file or args.reset:
            rules = read_rules(args.file) if args.file else None
            changed = set_title_rules(session, team_id, rules)
            what = f"{len(rules)} rules from {args.file}" if rules else "the shipped table"
            print(
                f"workspace {team_id} now maps job titles with {what}; "
                f"{changed} people's title level changed"
            )
            return 0
        active = rules_for(session, team_id)
        if args.try_titles:
            for title in args.try_titles:
                found = active.match(title)
                result = (
                    f"{found.level}  ({found.rule})" if found else "no rule matches (level unknown)"
                )
                print(f'"{title}" → {result}')
            return 0
        print(
            f"# {active.origin} table for workspace {team_id}, {len(active)} rules; first match wins"
        )
        write_csv(sys.stdout, ("pattern", "level"), ((r.pattern, r.level) for r in active.rules))
    return 0


@_guarded
def cmd_sync(args) -> int:
    from bot.storage.db import session_scope

    settings, team_id = workspace_for_command(args.team)
    client = _client(settings, team_id)
    # Slack first: no transaction stays open while it answers (minutes, in a large workspace)
    people = walk_users(client, team_id, progress=_reading()).by_id.values() if args.all else []
    with session_scope(settings.database_url) as session:
        user_ids = list(session.scalars(select(Member.user_id).where(Member.team_id == team_id)))
        skipped = 0
        if args.all:
            # Reading a profile stores it: not of people who opted out of the app.
            withdrawn = opted_out_everywhere(session, team_id)
            found = [user.id for user in people if not (user.is_bot or user.deleted)]
            skipped = sum(user_id in withdrawn for user_id in found)
            user_ids += [user_id for user_id in found if user_id not in withdrawn]
        report = sync_profiles(
            client, session, team_id, user_ids, max_age=None, progress=_progress("profiles")
        )
    print(
        f"read {report.fetched} profiles of workspace {team_id}: {report.changed} changed, "
        f"{report.failed} could not be read"
        + (f", {report.unreadable} level fields held no number 1-9" if report.unreadable else "")
        + (f"; skipped {skipped} people who opted out of the app" if skipped else "")
    )
    for label in report.missing_fields:
        print(f'warning: no custom profile field is labelled "{label}"', file=sys.stderr)
    if report.error:
        print(f"error: stopped early, Slack answered {report.error}", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def _team_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        metavar="T",
        help="Slack team id (default: the SLACK_BOT_TOKEN's workspace, which it must be if "
        "that token is set; with OAuth, the only one installed)",
    )


def add_parser(subparsers) -> None:
    levels = subparsers.add_parser(
        "levels",
        help="levels, departments and locations: HR import, export, explain, profile fields, titles",
        description="Where levels come from, by precedence: admin, HR import, Slack profile "
        "field, the person themself, job title. Levels are shown only to the person and admins.",
    )
    sub = levels.add_subparsers(dest="levels_command", metavar="SUBCOMMAND", required=True)

    imp = sub.add_parser(
        "import",
        help="import levels, departments and locations from an HR CSV file",
        description="Header row, then one person a row: a user_id or email column, then any of "
        "level (1-9), department, location. An empty cell removes what an earlier import said. "
        "A `levels export --csv` file imports back: only values whose *_source is import are "
        "taken, others are kept as they are. "
        "Exit code 0: all rows applied; 1: some rows skipped (listed); 2: nothing applied.",
    )
    imp.add_argument("file", metavar="FILE.csv", help="UTF-8 CSV file")
    _team_option(imp)
    imp.add_argument(
        "--dry-run", action="store_true", help="report what would change, change nothing"
    )
    imp.add_argument(
        "--strict", action="store_true", help="apply nothing if any row is bad or unknown"
    )
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser(
        "export",
        help="show what the app holds: level, department, location and who set each",
        description="Everyone's level, department and location with the source that set each.",
    )
    exp.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    exp.add_argument("--team", metavar="T", help="only this workspace (default: all)")
    exp.set_defaults(func=cmd_export)

    exl = sub.add_parser(
        "explain",
        help="why a person has their level, department and location",
        description="Which source set each attribute of one person, and the competing values.",
    )
    exl.add_argument("user", help="Slack user id (U…) or email address")
    _team_option(exl)
    exl.set_defaults(func=cmd_explain)

    mp = sub.add_parser(
        "map",
        help="name the Slack profile fields that hold level, department, location and manager",
        description="Name custom profile fields by their label (case-insensitive). An empty "
        'label ("") stops reading that attribute. Without options, shows the current mapping.',
    )
    mp.add_argument("--level-field", metavar="LABEL", help='e.g. "Grade"')
    mp.add_argument("--department-field", metavar="LABEL", help='e.g. "Department"')
    mp.add_argument("--location-field", metavar="LABEL", help='e.g. "Office"')
    mp.add_argument(
        "--manager-field", metavar="LABEL",
        help='a field of type "user", e.g. "Manager": people are never grouped with their '
        "manager or a direct report",
    )  # fmt: skip
    _team_option(mp)
    mp.set_defaults(func=cmd_map)

    tt = sub.add_parser(
        "titles",
        help="show, try, replace or reset the job title → level table",
        description="Without a file, prints the table in use. With FILE.csv (columns pattern,level), "
        "the workspace uses that table instead of the shipped one; --reset goes back.",
    )
    tt.add_argument("file", metavar="FILE.csv", nargs="?", help="your own table")
    tt.add_argument("--reset", action="store_true", help="use the shipped table again")
    tt.add_argument(
        "--try",
        dest="try_titles",
        metavar="TITLE",
        action="append",
        help="show the level a title gets",
    )
    _team_option(tt)
    tt.set_defaults(func=cmd_titles)

    sy = sub.add_parser(
        "sync",
        help="read Slack profiles (fields and job titles) now",
        description="Read the profile of everyone the app knows in the workspace now, instead of "
        "waiting for the next round.",
    )
    sy.add_argument(
        "--all", action="store_true", help="everyone in the workspace, not only known people"
    )
    _team_option(sy)
    sy.set_defaults(func=cmd_sync, interrupted=(
        "nothing read was saved (a sync is saved at its end); run it again"))  # fmt: skip
