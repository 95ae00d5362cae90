"""How close delivery runs to Slack's rate limits.

Delivers one round of N members (default 2,000: 1,000 group DMs) against the Slack test
double with Slack's published tiers scaled up (default 60x, so the run takes seconds, not
20 minutes), and reports the achieved `conversations.open` rate — the bottleneck, Tier 3 —
as a fraction of the allowed rate. Goal: at least 0.9.

    python bench/bench_delivery.py [--members 2000] [--scale 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.common.config import load  # noqa: E402
from bot.domain.services.rounds import run_round  # noqa: E402
from bot.sandbox.slack import SLACK_TIERS, SlackDouble  # noqa: E402
from bot.storage.db import migrate, session_scope  # noqa: E402
from bot.storage.models import Program  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=60.0, help="Slack's tiers times this")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, SlackDouble() as slack:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        migrate(url)
        slack.add_team("T1", bot_token="xoxb-T1")
        people = [f"U{i:06d}" for i in range(args.members)]
        for user in people:
            slack.add_user("T1", user, tz="Europe/London")
        slack.add_channel("T1", "CBENCH", "everyone", members=people + ["UBOT"])
        slack.apply_slack_tiers(scale=args.scale)
        with session_scope(url) as session:
            session.add(Program(team_id="T1", channel_id="CBENCH"))
        settings = load({
            "SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url, "DATABASE_URL": url,
            "SLACK_RATE_SCALE": str(args.scale),
        })
        started = time.monotonic()
        report = run_round(settings, 1)
        wall = time.monotonic() - started

        opens = [c for c in slack.calls("conversations.open") if c.ok]
        posts = [c for c in slack.calls("chat.postMessage") if c.ok]
        limited = sum(c.status == 429 for c in slack.calls())
        span = opens[-1].time - opens[0].time
        allowed_per_s = SLACK_TIERS["conversations.open"] * args.scale / 60
        achieved_per_s = (len(opens) - 1) / span if span else float("inf")
        print(f"members {args.members}, groups {report.groups}, delivered {report.delivered}, "
              f"failed {report.failed}, intros posted {len(posts)}")
        print(f"conversations.open: {achieved_per_s:.1f}/s achieved vs {allowed_per_s:.1f}/s "
              f"allowed = {achieved_per_s / allowed_per_s:.2f} of the limit")
        print(f"HTTP 429 answers: {limited}; whole round {wall:.1f} s "
              f"(delivery {posts[-1].time - opens[0].time:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
