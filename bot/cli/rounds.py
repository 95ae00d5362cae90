"""`python -m bot round` and `python -m bot stats`: the round and its figures from a shell."""

from __future__ import annotations

import sys

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.cli.runtime import settings_for_command, unknown_team, workspace_for_command
from bot.common.config import ConfigError
from bot.common.csvfile import write_csv
from bot.domain.services import stats as stats_service
from bot.domain.services.delivery import DeliveryStopped
from bot.domain.services.insights import program_teams
from bot.domain.services.participants import ChannelUnreadable
from bot.domain.services.programs import stand_in_words
from bot.domain.services.rounds import NoProgram, run_round
from bot.domain.services.workspaces import NotInstalled
from bot.slack import texts
from bot.slack.client import REACH_SLACK, cannot_reach, refused_token, slack_answered
from bot.storage.db import session_scope
from bot.storage.models import Program


def add_parser(sub) -> None:
    round_ = sub.add_parser(
        "round",
        help="run a round in a program channel now (or resume an unfinished one)",
        description="Form the groups of a program channel and deliver their intros, exactly "
        "as the clock would. An unfinished or very recent round is resumed, not repeated.",
    )
    round_.add_argument("channel", metavar="CHANNEL_ID", help="the program's channel, e.g. C0123")
    round_.add_argument("--team", help="workspace id (needed only with several workspaces)")
    round_.set_defaults(func=cmd_round, interrupted=(
        "the groups are kept and the intros sent so far stay sent; run the same command again "
        "to send the rest (each group gets its intro once)"))  # fmt: skip

    stats = sub.add_parser(
        "stats",
        help="rounds, people paired and meet rate per program",
        description="Figures per program: rounds run, people paired, groups, groups that "
        "reported meeting, meet rate and people who have not answered lately.",
    )
    stats.add_argument("--csv", action="store_true", help="CSV on standard output, for export")
    stats.add_argument("--team", help="only this workspace")
    stats.set_defaults(func=cmd_stats)


def find_program(settings, channel: str, team: str) -> Program:
    with session_scope(settings.database_url) as session:
        program = session.scalar(
            select(Program).where(Program.team_id == team, Program.channel_id == channel)
        )
    if program is None:
        raise ConfigError(
            f"no program in channel {channel}: run /meet setup in that channel first"
        )
    return program


AGAIN = "running this command again resumes the round"


def _refused(settings, program: Program, code: str) -> str:
    """Whose token Slack refused, and where it is mended."""
    if settings.oauth:
        return (f"Slack refused the token of workspace {program.team_id} ({code}): install "
                "Worth Knowing there again")  # fmt: skip
    return refused_token(code)


def cmd_round(args) -> int:
    settings, team = workspace_for_command(args.team)
    program = find_program(settings, args.channel, team)
    progress = _progress if sys.stderr.isatty() else None
    try:
        report = run_round(settings, program.id, progress=progress)
    except (NoProgram, NotInstalled) as error:
        raise ConfigError(f"round not run: {error}") from None
    except DeliveryStopped as error:  # nothing sent is lost: what is left waits for the fix
        refused = _refused(settings, program, str(error))
        raise ConfigError(f"round not finished: {refused}; {AGAIN}") from None
    except ChannelUnreadable as error:
        raise ConfigError(
            f"round not run: Slack would not say who is in {error.channel_id} ({error.code}): "
            "invite the app there with /invite @Worth Knowing, then run this command again"
        ) from None
    except SlackApiError as error:
        raise ConfigError(f"round not finished: {slack_answered(error)}; {AGAIN}") from None
    except OSError as error:  # Slack out of reach after every retry
        reach = f"{cannot_reach(settings, error)}: {REACH_SLACK}"
        raise ConfigError(f"round not finished: {reach}; {AGAIN}") from None
    if progress:
        print(file=sys.stderr)
    verb = "started" if report.created else "resumed"
    print(
        f"round {report.round_id} {verb} in {args.channel}: "
        f"{texts.counted(report.groups, 'group', 'groups')}, "
        f"{report.delivered} delivered, {report.failed} failed, "
        f"{report.unmatched} could not be placed ({report.status})"
    )
    stood_in = stand_in_words(report, program.timezone)
    if stood_in is not None:
        print(stood_in)
    if report.failed:
        print("some groups could not be reached: see `python -m bot stats`", file=sys.stderr)
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\rdelivering intros: {done}/{total} groups", end="", file=sys.stderr, flush=True)


COLUMNS = [
    "team_id", "channel_id", "enabled", "rounds", "people_paired", "groups", "groups_met",
    "meet_rate", "groups_scheduled", "scheduled_met", "groups_failed", "non_responders",
]


def cmd_stats(args) -> int:
    settings = settings_for_command(existing=True)
    with session_scope(settings.database_url) as session:
        rows = stats_service.all_stats(session, args.team)
        if not rows and args.team:
            raise unknown_team(args.team, program_teams(session))
    if args.csv:
        write_csv(sys.stdout, COLUMNS, (
            [
                s.team_id, s.channel_id, s.enabled, s.rounds, s.people_paired, s.groups,
                s.groups_met, None if s.meet_rate is None else f"{s.meet_rate:.3f}",
                s.groups_scheduled, s.scheduled_met,
                s.groups_failed, " ".join(s.non_responders),
            ]
            for s in rows
        ))
        return 0
    if not rows:
        print("no programs yet: run /meet setup in a channel")
        return 0
    for s in rows:
        state = "" if s.enabled else " (disabled)"
        print(
            f"{s.team_id} {s.channel_id}{state}: {texts.rounds(s.rounds)}, "
            f"{texts.counted(s.people_paired, 'person', 'people')} paired, "
            f"{texts.counted(s.groups, 'group', 'groups')}, {stats_service.format_scheduled(s)}, "
            f"{s.groups_met} met "
            f"({stats_service.format_rate(s)} meet rate), {s.groups_failed} not delivered, "
            f"{len(s.non_responders)} not answering lately"
        )
        for failed in s.failures:
            who = " ".join(failed.user_ids) or "-"
            print(f"  not delivered {failed.date} ({who}): {failed.error}: {failed.advice}")
        if s.channel_error:
            print(f"  cannot read the channel's members: {s.channel_error}")
    return 0
