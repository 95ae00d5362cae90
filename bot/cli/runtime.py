"""What every command-line process does first: settings, logging, an up-to-date database,
and which workspace it works on."""

from __future__ import annotations

import argparse
import errno
import urllib.error
from pathlib import Path

from bot.common import config, logs
from bot.common.config import ConfigError, Settings


def at_least_one(text: str) -> int:
    """An argument that counts something there must be one of (rounds, workers, threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def unreachable(error: Exception) -> str:
    """A database that cannot be reached or refuses, as one line: the driver's first line of
    reason, not the URL (it may hold a password)."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return (f"cannot use the database at DATABASE_URL ({reason}): check DATABASE_URL, and "
            "that its server is up (PostgreSQL) or its folder exists and is writable (SQLite)")  # fmt: skip


def output_failed(error: OSError) -> bool:
    """Whether writing our own output failed (the reader of a pipe went away, a full disk),
    rather than a call to Slack: that is not Slack's fault and needs other advice."""
    if isinstance(error, BrokenPipeError):
        return True
    return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) and not isinstance(
        error, urllib.error.URLError
    )


NEW_DATABASE = ("run the command from the folder that holds the database, point DATABASE_URL "
                "at it, or run `python -m bot migrate` to start a new one")  # fmt: skip


def missing_database(url: str) -> Path | None:
    """The SQLite file DATABASE_URL names, when there is none: opening it would create it."""
    from bot.storage.db import sqlite_file

    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None


def settings_for_command(*, migrate: bool = True, existing: bool = False) -> Settings:
    """`existing`: the command only reads, so a SQLite file that is not there is an error, not
    a new empty database: run from the wrong folder, it would report on nothing."""
    settings = config.load()
    logs.configure(settings)
    if existing and (missing := missing_database(settings.database_url)):
        raise ConfigError(f"no database at {missing}: {NEW_DATABASE}")
    if migrate:
        from bot.storage.db import migrate as upgrade

        upgrade(settings.database_url)
    return settings


def workspace_for_command(team: str | None, offline: bool = False) -> tuple[Settings, str]:
    """Settings, an up-to-date database and the workspace of a command that works on one.
    A missing token is said before the database is upgraded, which would create it: one
    line, and no new database left behind. `offline`: the command can do without Slack
    when --team names the workspace (the title table)."""
    from bot.storage.db import migrate as upgrade

    settings = settings_for_command(migrate=False)
    if not (offline and team):
        settings.require_bot_token()
    upgrade(settings.database_url)
    return settings, team_for_command(settings, team)


def team_for_command(settings: Settings, team: str | None) -> str:
    """--team, else the one workspace: the bot token's (auth.test) or the only installed one.
    With a bot token, --team must be its workspace: a mistyped one would file data under a
    workspace that does not exist. (Without one, as for the title table offline, it is taken
    as given.)"""
    if team and not settings.oauth and not settings.bot_token:
        return team
    if not settings.oauth:
        from bot.slack.client import check_bot_token

        identity = check_bot_token(settings)  # a refusal or no answer: one line, quickly
        own = identity["team_id"]
        if identity.get("is_enterprise_install"):
            return _workspace_of_org(settings, own, team)
        if team and team != own:
            raise ConfigError(
                f"--team {team} is not the workspace of SLACK_BOT_TOKEN ({own}): "
                f"leave --team out, or give --team {own}"
            )
        return own
    if team:
        return team
    from bot.domain.services.workspaces import active_teams

    teams = active_teams(settings.database_url)
    if len(teams) == 1:
        return teams[0]
    listed = ", ".join(teams) if teams else "none installed yet"
    raise ConfigError(f"--team is required with several workspaces (workspaces: {listed})")


def _workspace_of_org(settings: Settings, org: str, team: str | None) -> str:
    """SLACK_BOT_TOKEN is installed on a whole Enterprise Grid org: --team names one of its
    workspaces the app has heard from (it learns them from requests and from Slack's
    team_access_granted), or may be left out when there is only one."""
    from bot.domain.services.workspaces import workspaces_in_org

    known = workspaces_in_org(settings, org)
    if team in known or (team is None and len(known) == 1):
        return team or known[0]
    listed = ", ".join(known) if known else "none has used the app yet: type /meet in one"
    if team:
        raise ConfigError(f"--team {team} is not a workspace of Enterprise Grid org {org}, "
                          f"where SLACK_BOT_TOKEN is installed (its workspaces: {listed})")  # fmt: skip
    raise ConfigError(f"--team is required: SLACK_BOT_TOKEN is installed on Enterprise Grid "
                      f"org {org} (its workspaces: {listed})")  # fmt: skip


def unknown_team(team: str, known: list[str]) -> ConfigError:
    """--team naming a workspace without programs: the typo and the ones there are, rather than
    advice to set up a program that may well exist."""
    if not known:
        return ConfigError(f"no program in workspace {team}, nor in any other yet: "
                           "run /meet setup in a channel first")  # fmt: skip
    return ConfigError(f"no program in workspace {team} (workspaces with programs: "
                       f"{', '.join(known)}): check --team")  # fmt: skip
