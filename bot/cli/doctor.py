"""`python -m bot doctor`: what an admin would otherwise find out the hard way, as a checklist.

Each line is a check that holds ("ok") or not ("FAIL", with what to do about it). The exit
code is 0 when every check holds and 1 otherwise, so a deployment can run it as a health
check; a missing setting is one line and exit code 2, as for every command.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.common.config import BOT_SCOPES, ConfigError, Settings
from bot.slack.client import REACH_SLACK, TOKEN_ERRORS, cannot_reach, reason
from bot.storage.models import Program, utcnow

EXIT_FAILED = 1


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""  # what to do, when the check does not hold

    def lines(self) -> list[str]:
        head = f"[{'ok' if self.ok else 'FAIL'}]{' ' if self.ok else ''} {self.what}"
        return [head] + ([f"       -> {self.fix}"] if self.fix and not self.ok else [])


def add_parser(sub) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check the installation: token, scopes, channels, database, clock",
        description="Check what Worth Knowing needs to work and say what to do about each "
        "problem: the bot token works (auth.test), Slack granted every scope manifest.yml "
        "asks for, the bot is in each program channel, the database is up to date, a clock "
        "is running, and how Slack reaches the app. Exit code 0 when everything holds, 1 "
        "otherwise, 2 when a setting is missing.",
    )
    doctor.add_argument("--team", help="only this workspace (default: every installed one)")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args) -> int:
    from bot.cli.runtime import settings_for_command

    settings = settings_for_command(migrate=False).require_slack()
    if logging.getLogger().level > logging.DEBUG:  # the report names what failed, once
        logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)
    checks = run_checks(settings, args.team)
    for check in checks:
        print("\n".join(check.lines()))
    failed = sum(not check.ok for check in checks)
    print(f"\n{failed} problem(s) found." if failed else "\nEverything holds.")
    sys.stdout.flush()
    return EXIT_FAILED if failed else 0


def run_checks(settings: Settings, team: str | None = None, now: dt.datetime | None = None):
    now = now or utcnow()
    checks = [connection_check(settings)]
    database_ok = database_check(settings, checks)
    if database_ok:
        checks.append(clock_check(settings, now))
    for team_id in teams(settings, team, database_ok, checks):
        checks.extend(workspace_checks(settings, team_id, database_ok, now))
    return checks


# ---------------------------------------------------------------- how Slack reaches the app


def connection_check(settings: Settings) -> Check:
    if settings.socket_mode:
        client = WebClient(base_url=settings.slack_api_url, timeout=10)
        try:
            client.apps_connections_open(app_token=settings.app_token)
        except SlackApiError as error:
            return Check(
                False,
                f"Socket Mode: Slack refused SLACK_APP_TOKEN ({reason(error)})",
                "create an app-level token with connections:write under Basic Information > "
                "App-Level Tokens, and turn Socket Mode on (manifest.yml: socket_mode_enabled)",
            )
        except OSError as error:
            return _unreachable(settings, error)
        return Check(True, "Socket Mode: the app-level token works; no public URL is needed")
    where = "https://YOUR-HOST/slack/events"
    what = (
        f"HTTP on port {settings.port}: Slack must reach {where} (Event Subscriptions, "
        "Interactivity and /meet request URLs in the app's settings)"
    )
    if settings.oauth:
        what += "; installs start at /slack/install and return to /slack/oauth_redirect"
    return Check(True, what)


# ---------------------------------------------------------------- database and clock


def database_check(settings: Settings, checks: list[Check]) -> bool:
    """Whether the database is reachable and at the newest revision (checks are appended)."""
    from bot.cli.runtime import NEW_DATABASE, missing_database
    from bot.storage.db import NEWER_FIX, current_revision, head_revision, written_by_newer

    missing = missing_database(settings.database_url)
    if missing:  # opening it would create it, empty: the wrong folder, most likely
        checks.append(Check(False, f"Database: no database at {missing}", NEW_DATABASE))
        return False
    try:
        revision = current_revision(settings.database_url)
    except ConfigError as error:  # a file that is no database: the message says what to do
        checks.append(Check(False, f"Database: {error}"))
        return False
    except (SQLAlchemyError, OSError) as error:
        why = str(getattr(error, "orig", None) or error).splitlines()[0][:160]
        checks.append(
            Check(
                False,
                f"Database: cannot open DATABASE_URL ({why})",
                "check DATABASE_URL and that the database server is running",
            )
        )
        return False
    head = head_revision()
    newer = written_by_newer(revision)
    if newer:  # migrate cannot help
        checks.append(Check(False, f"Database: {newer}", NEWER_FIX))
        return False
    if revision != head:
        checks.append(
            Check(
                False,
                f"Database: at revision {revision or 'none (empty)'}, the code needs {head}",
                "run `python -m bot migrate` (serve and clock also do it when they start)",
            )
        )
        return False
    checks.append(Check(True, f"Database: at revision {revision}, the newest"))
    return True


def clock_check(settings: Settings, now: dt.datetime) -> Check:
    from bot.domain.services.health import MISSED_TICKS, allowed_seconds
    from bot.domain.services.heartbeat import last_beat

    beat = last_beat(settings.database_url)
    fix = (
        "start `python -m bot clock` (or `python -m bot serve --with-clock`); without a "
        "clock no round, check-in or reminder runs on time"
    )
    if beat is None:
        return Check(False, "Clock: no clock has ever run against this database", fix)
    ago = now - beat.at
    when = f"{beat.at:%Y-%m-%d %H:%M:%S} UTC ({_ago(ago)})"
    if ago.total_seconds() > allowed_seconds(beat.tick_seconds):  # as /healthz judges it
        pace = f"it ticks every {beat.tick_seconds} s and missed {MISSED_TICKS} ticks or more"
        return Check(False, f"Clock: last ran at {when}; {pace}", fix)
    return Check(True, f"Clock: last ran at {when}")


# ---------------------------------------------------------------- workspaces


def teams(settings: Settings, team: str | None, database_ok: bool, checks: list[Check]):
    """The workspaces to check: --team, the bot token's, or every active installation."""
    from bot.cli.runtime import missing_database

    if settings.oauth and missing_database(settings.database_url):
        return []  # the tokens would be in it; reading them would create it, empty
    if team or not settings.oauth:
        return [team]  # None: the bot token's own workspace, found by auth.test
    if not database_ok:
        return []
    from bot.domain.services.workspaces import active_teams

    found = active_teams(settings.database_url)
    if not found:
        checks.append(
            Check(
                False,
                "Workspaces: the app is not installed in any workspace yet",
                "open https://YOUR-HOST/slack/install and add the app to a workspace",
            )
        )
    return found


def workspace_checks(
    settings: Settings, team_id: str | None, database_ok: bool, now: dt.datetime
) -> list[Check]:
    from bot.domain.services.workspaces import NotInstalled, client_for_team

    label = f"workspace {team_id}" if team_id else "the bot token"
    try:
        client = client_for_team(settings, team_id, quick=True)  # a person is waiting
        response = client.auth_test()
    except NotInstalled as error:
        return [Check(False, f"Slack token of {label}: {error}", _reinstall(settings))]
    except SlackApiError as error:
        code = reason(error)
        fix = _reinstall(settings) if code in TOKEN_ERRORS else "see Slack's status page"
        return [Check(False, f"Slack token of {label}: Slack refused it ({code})", fix)]
    except OSError as error:
        return [_unreachable(settings, error)]
    asked, team_id = team_id, response["team_id"]
    name = f"{response.get('team') or team_id} ({team_id})"
    if response.get("is_enterprise_install"):
        return _org_wide_checks(settings, client, response, asked, database_ok, now)
    if asked and asked != team_id:  # the bot token's own workspace is another one
        return [Check(False, f"--team {asked}: SLACK_BOT_TOKEN works in {name}, not there",
                      f"leave --team out, or give --team {team_id}")]  # fmt: skip
    checks = [Check(True, f"Slack token: works in {name} as @{response.get('user')}")]
    checks.append(scope_check(response.headers, name, settings))
    if database_ok:
        checks.extend(program_checks(settings, client, team_id, now))
    return checks


def _org_wide_checks(settings, client, response, asked, database_ok, now) -> list[Check]:
    """An org-wide installation's token names its Enterprise Grid org, not a workspace: the
    workspace asked about (or, for SLACK_BOT_TOKEN, each one of the org known here) is
    checked with it."""
    from bot.domain.services.workspaces import workspaces_in_org

    org = f"{response.get('team') or response['team_id']} ({response['team_id']})"
    where = f"workspace {asked}" if asked else "the workspaces"
    checks = [Check(True, f"Slack token: works in {where} of Enterprise Grid org {org}, "
                          f"installed org-wide, as @{response.get('user')}")]  # fmt: skip
    checks.append(scope_check(response.headers, org, settings))
    if database_ok:
        teams = [asked] if asked else workspaces_in_org(settings, response["team_id"])
        for team_id in teams:
            checks.extend(program_checks(settings, client, team_id, now))
    return checks


def scope_check(headers: dict, name: str, settings: Settings) -> Check:
    granted_header = next(
        (value for key, value in headers.items() if key.lower() == "x-oauth-scopes"), None
    )
    if granted_header is None:
        return Check(
            False,
            f"Scopes in {name}: Slack did not say which scopes the token has",
            "check SLACK_API_URL: it should be Slack's Web API, https://slack.com/api/",
        )
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if missing:
        return Check(
            False,
            f"Scopes in {name}: not granted: {', '.join(missing)}",
            "add them from manifest.yml under OAuth & Permissions > Scopes, then reinstall "
            "the app" + (" (open /slack/install again)" if settings.oauth else ""),
        )
    return Check(True, f"Scopes in {name}: all {len(BOT_SCOPES)} that manifest.yml asks for")


def program_checks(settings: Settings, client: WebClient, team_id: str, now: dt.datetime):
    from bot.domain.services import programs
    from bot.storage.db import session_scope

    with session_scope(settings.database_url) as session:
        found = [
            (p.channel_id, p.enabled, programs.describe(p), programs.next_round(p, now), p.timezone)
            for p in session.scalars(
                select(Program).where(Program.team_id == team_id).order_by(Program.id)
            )
        ]
    if not found:
        return [
            Check(True, f"Program channels in {team_id}: none yet (type /meet setup in one)")
        ]
    return [
        channel_check(client, channel, enabled, schedule, next_round, zone)
        for channel, enabled, schedule, next_round, zone in found
    ]


def channel_check(client, channel_id, enabled, schedule, next_round, zone) -> Check:
    where = f"<#{channel_id}>"
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        code = reason(error)
        if code == "channel_not_found":
            return Check(
                False,
                f"{where}: the bot cannot see this channel (deleted, or private without the bot)",
                "invite the bot with /invite @Worth Knowing, or type /meet disable there",
            )
        return Check(False, f"{where}: Slack refused conversations.info ({code})", "see above")
    where = f"#{info.get('name', channel_id)} ({channel_id})"
    if info.get("is_archived"):
        return Check(False, f"{where}: archived", "unarchive it, or type /meet disable there")
    if not info.get("is_member"):
        return Check(
            False,
            f"{where}: the bot is not a member, so no round can read who takes part",
            f"type /invite @Worth Knowing in #{info.get('name', channel_id)}",
        )
    members = info.get("num_members")
    counted = (
        "members unknown"
        if members is None
        else f"{members} member{'' if members == 1 else 's'}"
    )
    if not enabled:
        return Check(True, f"{where}: bot is a member, {counted}; pairing is switched off")
    if next_round is None:
        return Check(
            False, f"{where}: {schedule}", "open the program's settings and set a schedule"
        )
    from bot.domain.schedule import zone as zone_named

    local = next_round.astimezone(zone_named(zone))
    return Check(
        True,
        f"{where}: bot is a member, {counted}; {schedule}; next round "
        f"{local:%a %Y-%m-%d %H:%M} {zone}",
    )


# ---------------------------------------------------------------- wording


def _reinstall(settings: Settings) -> str:
    if settings.oauth:
        return "reinstall the app in that workspace (open /slack/install)"
    return (
        "copy the Bot User OAuth Token from OAuth & Permissions into SLACK_BOT_TOKEN, "
        "reinstalling the app if it was removed"
    )


def _unreachable(settings: Settings, error: OSError) -> Check:
    return Check(False, f"Slack: {cannot_reach(settings, error)}", REACH_SLACK)


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
