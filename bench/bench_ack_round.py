"""Acknowledgement latency while a big round is being delivered and Slack is slow.

Starts `python -m bot serve` against the Slack test double, which answers every Web API call
after 2 seconds, and `python -m bot round` for a program channel of 500 people on the same
SQLite database. Once the round is delivering, fires signed `/meet status` commands, settings
form submissions (view_submission) and events (`app_home_opened`), and reports each kind's
acknowledgement latency: from sending the request to its HTTP response. Goal: p99 under 1 s
for each kind, none over 3 s, and the round still delivering when the last one is answered.

    python bench/bench_ack_round.py [--people 500] [--requests 100] [--rate 10]
                                    [--concurrency 10] [--slack-latency 2.0]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ack import SECRET, app_env, percentile, start_app  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.edge import home  # noqa: E402
from bot.sandbox import signing  # noqa: E402
from bot.sandbox.slack import SlackDouble  # noqa: E402
from bot.storage.db import migrate, session_scope  # noqa: E402
from bot.storage.models import Group, Program, Round  # noqa: E402

# A valid settings form, as Slack sends it back.
SETTINGS_FORM = {
    "cadence": {"value": {"type": "static_select", "selected_option": {"value": "weekly"}}},
    "weekday": {"value": {"type": "static_select", "selected_option": {"value": "wed"}}},
    "time": {"value": {"type": "timepicker", "selected_time": "12:30"}},
    "timezone": {"value": {"type": "plain_text_input", "value": "Europe/Berlin"}},
    "size": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
    "checkin": {"value": {"type": "static_select", "selected_option": {"value": "3"}}},
    "options": {"value": {"type": "checkboxes", "selected_options": []}},
}


def round_state(database_url: str) -> tuple[str | None, int]:
    """The round's status and how many groups have their intro."""
    with session_scope(database_url) as session:
        status = session.scalar(select(Round.status).limit(1))
        posted = session.scalar(
            select(func.count()).select_from(Group).where(Group.delivery == "posted")
        )
    return status, posted or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--requests", type=int, default=100, help="of each kind")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="requests sent per second")
    parser.add_argument("--slack-latency", type=float, default=2.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, SlackDouble() as slack:
        database_url = f"sqlite:///{tmp}/bench.db"
        migrate(database_url)
        slack.add_team("T1", bot_token="xoxb-T1")
        people = [f"U{i:04d}" for i in range(args.people)]
        for user in people:
            slack.add_user("T1", user, tz="Europe/Berlin")
        slack.add_user("T1", "UADMIN", tz="Europe/Berlin", is_admin=True)
        slack.add_channel("T1", "C1", "lunch", members=people + ["UADMIN", "UBOT"])
        with session_scope(database_url) as session:
            program = Program(team_id="T1", channel_id="C1", timezone="Europe/Berlin")
            session.add(program)
            session.flush()
            program_id = program.id
        slack.latency = args.slack_latency

        # Slack's slowness, not the app's pacing, sets the pace
        env = app_env(slack.api_url, database_url, SLACK_RATE_SCALE="1000")
        process, url = start_app(env, tmp, workers=1)
        round_log = open(Path(tmp) / "round.log", "wb")
        delivering = None
        try:  # from serve's start on: whatever fails, no process is left behind
            delivering = subprocess.Popen(
                [sys.executable, "-m", "bot", "round", "C1"], env=env, cwd=ROOT,
                stdout=round_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            deadline = time.monotonic() + 120
            while round_state(database_url)[0] != "delivering":
                if time.monotonic() > deadline or delivering.poll() is not None:
                    sys.exit("the round did not start delivering:\n"
                             + (Path(tmp) / "round.log").read_text())  # fmt: skip
                time.sleep(0.2)
            posted_before = round_state(database_url)[1]

            requests = []
            for i in range(args.requests):
                user = people[i % len(people)]
                requests.append(("/meet status", signing.slash_command(
                    SECRET, "status", user_id=user, channel_id="C1",
                    response_url=slack.new_response_url(),
                )))
                requests.append(("settings form", signing.view_submission(
                    SECRET, home.SETTINGS_CALLBACK, SETTINGS_FORM, user_id="UADMIN",
                    private_metadata=json.dumps({"program": program_id}),
                )))
                requests.append(("event", signing.event_callback(
                    SECRET, {"type": "app_home_opened", "user": user, "tab": "home"},
                )))  # fmt: skip
            random.Random(1).shuffle(requests)

            start = time.perf_counter()

            def fire(numbered):
                index, (kind, (body, headers)) = numbered
                # Spread over time at --rate, so the round moves on while requests arrive.
                time.sleep(max(0.0, start + index / args.rate - time.perf_counter()))
                started = time.perf_counter()
                status, _, _ = signing.post(url + "/slack/events", body, headers, timeout=10)
                return kind, status, time.perf_counter() - started

            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(fire, enumerate(requests)))
            wall = time.perf_counter() - start
            status_after, posted_after = round_state(database_url)
        finally:
            for proc in (p for p in (delivering, process) if p is not None):
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            round_log.close()

    print(
        f"{len(results)} requests ({args.requests} of each kind) over {wall:.0f} s, "
        f"one worker; Slack answers every call after {args.slack_latency:.1f} s; a round of "
        f"{args.people} people delivering on SQLite"
    )
    print(
        f"round while measuring: {posted_before} → {posted_after} intros posted, "
        f"status at the end {status_after!r}"
    )
    ok = status_after == "delivering"
    for kind in ("/meet status", "settings form", "event"):
        mine = [(status, s * 1000) for k, status, s in results if k == kind]
        latencies = [ms for _, ms in mine]
        p50, p90, p99 = (percentile(latencies, p) for p in (50, 90, 99))
        good = sum(status == 200 for status, _ in mine)
        over = sum(ms > 3000 for ms in latencies)
        print(
            f"{kind:>14}: HTTP 200 {good}/{len(mine)}; ms p50 {p50:.0f}  p90 {p90:.0f}  "
            f"p99 {p99:.0f}  max {max(latencies):.0f}; over 3 s: {over}"
        )
        ok = ok and good == len(mine) and p99 < 1000 and over == 0
    print("goal (p99 < 1 s for each kind, none over 3 s, round still delivering):",
          "met" if ok else "NOT met")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
