"""How many lunch groups end up with a day agreed, with and without automatic scheduling.

Plays a season of weekly rounds (default 12) for a channel of synthetic members (default
120; a fifth of them lunch on two weekdays only) with the real round, lunch-date and clock
services against the simulated Slack: each member either picks the first day offered soon after the intro (a clicker), answers "None
of these" (a decliner) or never clicks (silent), in the shares given. The organiser's pick
agrees a day for the group, as the app does. Once with `auto_schedule` on (the app picks the
first day that suits everyone two working days after the intro), once off; it prints the
share of groups with an agreed day in each.

    python bench/bench_lunch_dates.py [--members 120] [--weeks 12] [--clickers 0.35]
                                      [--decliners 0.15] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from freezegun import freeze_time  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.common.config import load  # noqa: E402
from bot.domain.services import lunches, rounds  # noqa: E402
from bot.domain.services.people import set_lunch  # noqa: E402
from bot.jobs.clock import Clock  # noqa: E402
from bot.sandbox.slack import SlackDouble  # noqa: E402
from bot.storage.db import dispose_engines, migrate, session_scope  # noqa: E402
from bot.storage.models import Group, Program, Round  # noqa: E402

START = dt.datetime(2026, 1, 5, 11, tzinfo=dt.UTC)  # a Monday, 12:00 in Berlin


def season(args, auto: bool) -> tuple[int, int]:
    """(groups delivered, groups with a day agreed) over the season."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, SlackDouble() as slack:
        url = f"sqlite:///{tmp}/bench.db"
        migrate(url)
        slack.add_team("T1", bot_token="xoxb-T1")
        slack.rate_limit_scale = 1000  # Slack's limits are not what this measures
        people = [f"U{i:04d}" for i in range(args.members)]
        kinds = {}
        for user in people:
            slack.add_user("T1", user, tz="Europe/Berlin")
            draw = rng.random()
            kinds[user] = ("clicker" if draw < args.clickers else
                           "decliner" if draw < args.clickers + args.decliners else "silent")  # fmt: skip
        slack.add_channel("T1", "CLUNCH", "lunch", members=[*people, "UBOT"])
        with session_scope(url) as session:
            for user in people:  # some lunch on two days a week only
                if rng.random() < args.two_day:
                    set_lunch(session, "T1", user, frozenset(rng.sample(range(5), 2)))
            session.add(Program(team_id="T1", channel_id="CLUNCH", timezone="Europe/Berlin",
                                auto_schedule=auto))  # fmt: skip
        settings = load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_SIGNING_SECRET": "s",
                         "SLACK_API_URL": slack.api_url, "DATABASE_URL": url,
                         "SLACK_RATE_SCALE": "1000"})  # fmt: skip
        clock = Clock(settings)
        for week in range(args.weeks):
            slot = START + dt.timedelta(weeks=week)
            with freeze_time(slot):
                report = rounds.run_round(settings, 1, slot=slot)
            with freeze_time(slot + dt.timedelta(hours=3)), session_scope(url) as session:
                for group in session.get(Round, report.round_id).groups:
                    _answer(session, group, kinds)
            for hours in range(0, 24 * 7, 6):  # the clock through the week
                clock.tick(slot + dt.timedelta(hours=hours, minutes=1))
        with session_scope(url) as session:
            groups = session.scalars(select(Group).where(Group.delivery == "posted")).all()
            result = len(groups), sum(g.lunch_at is not None for g in groups)
        dispose_engines()
        return result


def _answer(session, group: Group, kinds: dict[str, str]) -> None:
    """Members act on the intro: clickers pick the first day, decliners ask for others."""
    found = lunches.load(session, "T1", group.id)
    _, program, round_ = found
    offered = lunches.offered(group)
    for member in [m.user_id for m in group.members]:
        if kinds[member] == "decliner":
            lunches.offer(session, group, program, round_, after=max(offered, default=None))
        elif kinds[member] == "clicker" and offered and group.lunch_at is None:
            lunches.pick(session, group, member, offered[0], "Europe/Berlin")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=120)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--clickers", type=float, default=0.35)
    parser.add_argument("--decliners", type=float, default=0.15)
    parser.add_argument("--two-day", type=float, default=0.2,
                        help="share of members who lunch on two weekdays only")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"{args.members} members, {args.weeks} weekly rounds; {args.clickers:.0%} pick the "
          f"first day, {args.decliners:.0%} say none of these, the rest never click; "
          f"{args.two_day:.0%} lunch on two weekdays only")  # fmt: skip
    for auto in (False, True):
        groups, agreed = season(args, auto)
        print(f"automatic scheduling {'on ' if auto else 'off'}: {agreed} of {groups} groups "
              f"with a day agreed ({agreed / groups:.0%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
