"""``python -m bot preview``: try the matching engine on a CSV of members, offline.

An admin can see what the next rounds would look like (groups, level spread, repeats, who
is left out and why) before the bot sends anything. Nothing is written anywhere.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys

from bot.cli.progress import Progress
from bot.cli.runtime import at_least_one
from bot.common.csvfile import InputError
from bot.domain.csvinput import FIRST_YEAR, LAST_YEAR, MemberRow, read_history, read_members
from bot.domain.matching import (
    Grouping,
    History,
    PastGroup,
    Rules,
    form_groups,
    reporting_lines,
)
from bot.domain.matching.types import MAX_GROUP_SIZE, MIN_GROUP_SIZE
from bot.slack.texts import counted

ROUND_EVERY = datetime.timedelta(days=7)
MAX_ROUNDS = 520  # ten years of weekly rounds


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``preview`` on the main command's subparsers."""
    parser = subparsers.add_parser(
        "preview",
        help="show the groups the next rounds would form from a CSV of members",
        description=__doc__.split("\n\n")[1],
    )
    _add_arguments(parser)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--members", required=True, metavar="CSV",
        help="members: a header row with user_id and optional level, department, location, "
        "timezone (Europe/Berlin or +05:30), email, manager (a user_id or email: never "
        "grouped with their manager or direct reports) and avoid (user_ids, space-separated: "
        "never grouped with them)",
    )
    parser.add_argument(
        "--skip-level", action="store_true",
        help="keep people apart from their manager's manager too",
    )
    parser.add_argument(
        "--history", metavar="CSV",
        help="past groups: a header row date,user_ids; ids separated by spaces",
    )
    parser.add_argument(
        "--rounds", type=_rounds, default=1, metavar="N",
        help=f"simulate N weekly rounds, each seeing the earlier ones (default 1, at most "
        f"{MAX_ROUNDS})",
    )
    parser.add_argument(
        "--group-size", type=_group_size, default=Rules.group_size, metavar="K",
        help=f"people per group, {MIN_GROUP_SIZE} to {MAX_GROUP_SIZE} (default 2)",
    )
    parser.add_argument(
        "--tz-window", type=_hours, default=Rules.tz_window_hours, metavar="HOURS",
        help="largest time-zone gap within a group when locations differ (default 3)",
    )
    parser.add_argument(
        "--date", type=_date, metavar="YYYY-MM-DD",
        help="date of the first round (default: a week after the last history date, "
        "or today)",
    )
    parser.add_argument("--seed", type=int, help="fix the random choices to repeat a preview")
    parser.add_argument(
        "--json", action="store_true",
        help="one JSON object per round per line instead of tables",
    )
    parser.set_defaults(func=run)


def _rounds(text: str) -> int:
    value = at_least_one(text)
    if value > MAX_ROUNDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_ROUNDS} (ten years of weeks)")
    return value


def _group_size(text: str) -> int:
    value = at_least_one(text)
    if not MIN_GROUP_SIZE <= value <= MAX_GROUP_SIZE:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_GROUP_SIZE} and {MAX_GROUP_SIZE}"
        )
    return value


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours") from None
    if not 0 <= value <= 24:
        raise argparse.ArgumentTypeError("must be between 0 and 24 hours")
    return value


def _date(text: str) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"{text!r} is not between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def run(args: argparse.Namespace) -> int:
    progress = Progress(sys.stderr)
    try:
        members = read_members(
            args.members, lambda n: progress(f"reading {_name(args.members)}: {n:,} rows")
        )
        history = History()
        if args.history:
            dates, groups = read_history(
                args.history, lambda n: progress(f"reading {_name(args.history)}: {n:,} rows")
            )
            progress(f"indexing {len(groups):,} past groups")
            history = History.from_rows(dates, groups)
    except InputError as error:
        progress.done()
        print(f"error: {error}", file=sys.stderr)  # as every other command says it
        return 2
    rules = Rules(group_size=args.group_size, tz_window_hours=args.tz_window)
    day = args.date or _first_day(history)
    details = {m.user_id: m for m in members}
    apart = reporting_lines({m.user_id: m.manager for m in members}, args.skip_level)
    apart |= {(m.user_id, other) for m in members for other in m.avoid}
    priority: list[str] = []
    totals = _Totals(levels_known=any(m.level is not None for m in members))
    for number in range(1, args.rounds + 1):
        progress(f"round {number}/{args.rounds}…")
        people = [m.person(day) for m in members]
        seed = None if args.seed is None else args.seed * 1_000_003 + number
        grouping = form_groups(people, history, rules, seed=seed, priority=priority,
                               apart=apart)  # fmt: skip
        progress.done()
        if args.json:
            _print_json(number, grouping)
        else:
            _print_round(number, day, grouping, details, totals.levels_known)
        totals.add(grouping)
        history = history.extended(PastGroup(day, group) for group in grouping.groups)
        priority = [u.person_id for u in grouping.unmatched]
        day += ROUND_EVERY
    progress.done()
    if not args.json:
        totals.print(args.rounds)
    return 0


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _first_day(history: History) -> datetime.date:
    today = datetime.date.today()
    if history.latest is not None and history.latest + ROUND_EVERY > today:
        return history.latest + ROUND_EVERY
    return today


def _print_json(number: int, grouping: Grouping) -> None:
    record = {
        "round": number,
        "groups": [list(group) for group in grouping.groups],
        "unmatched": [{"user_id": u.person_id, "reason": u.reason} for u in grouping.unmatched],
    }
    print(json.dumps(record, ensure_ascii=False))


def _describe(member: MemberRow) -> str:
    parts = [f"L{member.level}" if member.level is not None else "L?"]
    if member.department:
        parts.append(member.department)
    if member.location:
        parts.append(member.location)
    return f"{member.user_id} ({', '.join(parts)})"


def _print_round(
    number: int,
    day: datetime.date,
    grouping: Grouping,
    details: dict[str, MemberRow],
    levels_known: bool,
) -> None:
    score = grouping.score
    print(f"Round {number} ({day.isoformat()})")
    width = len(str(len(grouping.groups)))
    for index, group in enumerate(grouping.groups, 1):
        levels = [details[x].level for x in group if details[x].level is not None]
        spread = f"spread {max(levels) - min(levels)}" if len(levels) >= 2 else "spread ?"
        people = " + ".join(_describe(details[x]) for x in group)
        print(f"  {index:>{width}}. {people}   [{spread}]")
    for left in grouping.unmatched:
        print(f"  unmatched: {left.person_id}: {left.reason}")
    print(
        f"  {counted(score.groups, 'group', 'groups')}, "
        f"{_spread(score.mean_level_spread, levels_known)}, "
        f"{counted(score.repeats, 'repeated pair', 'repeated pairs')}, "
        f"{score.unmatched} unmatched, "
        f"{score.cross_department:.0%} of groups with no two people from one department"
    )
    print()


def _spread(mean: float, levels_known: bool) -> str:
    # With no level known, every group's spread is 0: that says nothing.
    if not levels_known:
        return "level spread unknown (no levels in the file)"
    return f"mean level spread {mean:.2f}"


class _Totals:
    def __init__(self, levels_known: bool) -> None:
        self.groups = self.repeats = self.unmatched = 0
        self.spread_sum = 0.0
        self.levels_known = levels_known

    def add(self, grouping: Grouping) -> None:
        score = grouping.score
        self.groups += score.groups
        self.repeats += score.repeats
        self.unmatched += score.unmatched
        self.spread_sum += score.mean_level_spread * score.groups

    def print(self, rounds: int) -> None:
        spread = self.spread_sum / self.groups if self.groups else 0.0
        print(
            f"Summary over {counted(rounds, 'round', 'rounds')}: "
            f"{counted(self.groups, 'group', 'groups')}, {_spread(spread, self.levels_known)}, "
            f"{counted(self.repeats, 'repeated pair', 'repeated pairs')}, "
            f"{self.unmatched} unmatched"
        )


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser, for ``python -m bot.cli.preview``."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.cli.preview", description=__doc__.split("\n\n")[1]
    )
    _add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
