"""What opening the App Home tab costs an admin: time and Slack Web API calls per open.

In-process, through Bolt with signed requests, against the Slack test double answering each
Web API call after `--slack-latency` seconds (SQLite). An admin sets up `--programs` program
channels of `--members` people each with `/meet setup`, then opens the Home tab `--opens`
times; each open is timed from the signed `app_home_opened` event to the published view, and
the Web API calls it made are counted by method.

    python bench/bench_home.py [--programs 30] [--members 100] [--opens 20] [--slack-latency 0.05]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_meet_harness import Harness  # noqa: E402

from bot.common.config import load  # noqa: E402
from bot.sandbox.slack import SlackDouble  # noqa: E402
from bot.storage.db import migrate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=30)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--opens", type=int, default=20)
    parser.add_argument("--slack-latency", type=float, default=0.05)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp, SlackDouble() as slack:
        slack.add_team("T1", name="Acme", bot_token="xoxb-T1", bot_user_id="UBOT")
        slack.add_user("T1", "UADMIN", is_admin=True)
        people = [f"U{i:05d}" for i in range(args.members)]
        for user in people:
            slack.add_user("T1", user)
        for n in range(args.programs):
            slack.add_channel("T1", f"C{n:04d}", f"lunch-{n}", members=["UADMIN", "UBOT", *people])
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        settings = load({
            "SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_SIGNING_SECRET": "bench",
            "SLACK_API_URL": slack.api_url, "DATABASE_URL": url, "SLACK_RATE_SCALE": "1000",
        })  # fmt: skip
        harness = Harness(slack, settings, secret="bench")
        try:
            for n in range(args.programs):
                harness.command("setup", user="UADMIN", channel=f"C{n:04d}")
            harness.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1"})
            slack.latency = args.slack_latency
            times, calls = [], Counter()
            for _ in range(args.opens):
                slack.reset_calls()
                started = time.perf_counter()
                harness.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1"})
                times.append(time.perf_counter() - started)
                calls.update(c.method for c in slack.calls())
        finally:
            harness.close()
    ordered = sorted(times)
    print(f"{args.programs} programs x {args.members} members, {args.opens} opens, "
          f"Slack latency {args.slack_latency * 1000:.0f} ms per call")
    print(f"per open: median {statistics.median(times) * 1000:.0f} ms, "
          f"p90 {ordered[int(0.9 * (len(ordered) - 1))] * 1000:.0f} ms, "
          f"max {ordered[-1] * 1000:.0f} ms")
    print("Web API calls per open: " + ", ".join(
        f"{method} {count / args.opens:g}" for method, count in sorted(calls.items())
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
