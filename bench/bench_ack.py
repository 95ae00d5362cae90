"""How fast `/meet` is acknowledged under load.

Starts `python -m bot serve` as its own process against the Slack test double (SQLite, one
workspace, a program channel of 200 people), fires 200 signed `/meet status` requests, 20 at
a time, and reports the acknowledgement latency: the time from sending a request to its HTTP
response. Slack gives up after 3 seconds; the goal is p99 under 500 ms and none over 3 s.
It also checks that every request was answered through its response_url afterwards.

    python bench/bench_ack.py [--requests 200] [--concurrency 20] [--slack-latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox import signing  # noqa: E402
from bot.sandbox.slack import SlackDouble  # noqa: E402
from bot.storage.db import migrate, session_scope  # noqa: E402
from bot.storage.models import Program  # noqa: E402

SECRET = "bench-signing-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(api_url: str, database_url: str, **overrides: str) -> dict[str, str]:
    """The app's environment: this machine's, less any Slack or database settings of its own,
    pointed at the simulated workspace and the bench's database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_URL", "PORT"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        **overrides,
    )
    return env


def start_app(env: dict, cwd: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**env, "PORT": str(port)}
    log = open(Path(cwd) / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--no-clock",
         "--workers", str(workers)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("serve exited early:\n" + (Path(cwd) / "serve.log").read_text())
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("serve did not become healthy")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    parser.add_argument(
        "--slack-latency", type=float, default=0.05, help="seconds the double takes per call"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, SlackDouble(rate_tiers=False) as slack:  # latency, not limits
        database_url = f"sqlite:///{tmp}/bench.db"
        migrate(database_url)
        slack.add_team("T1", bot_token="xoxb-T1")
        people = [f"U{i:04d}" for i in range(200)]
        for user in people:
            slack.add_user("T1", user, tz="Europe/Berlin")
        slack.add_channel("T1", "C1", "lunch", members=people + ["UBOT"])
        with session_scope(database_url) as session:
            session.add(Program(team_id="T1", channel_id="C1", timezone="Europe/Berlin"))
        slack.latency = args.slack_latency

        env = app_env(slack.api_url, database_url)
        process, url = start_app(env, tmp, args.workers)
        try:
            # one warm-up request per worker thread pool, not counted
            warm = signing.slash_command(
                SECRET, "help", user_id=people[0], channel_id="C1",
                response_url=slack.new_response_url(),
            )  # fmt: skip
            signing.post(url + "/slack/events", *warm)

            requests = []
            for i in range(args.requests):
                response_url = slack.new_response_url()
                body, headers = signing.slash_command(
                    SECRET, "status", user_id=people[i % len(people)], channel_id="C1",
                    response_url=response_url,
                )  # fmt: skip
                requests.append((response_url, body, headers))

            def fire(request):
                response_url, body, headers = request
                started = time.perf_counter()
                status, _, _ = signing.post(url + "/slack/events", body, headers, timeout=10)
                return status, time.perf_counter() - started

            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(fire, requests))
            wall = time.perf_counter() - start

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answered = sum(bool(slack.responses(r[0])) for r in requests)
                if answered == len(requests):
                    break
                time.sleep(0.1)
            answered_after = time.perf_counter() - start
        finally:
            process.terminate()
            process.wait(timeout=15)

    latencies = [seconds * 1000 for _, seconds in results]
    statuses = [status for status, _ in results]
    p50, p90, p99 = (percentile(latencies, p) for p in (50, 90, 99))
    worst = max(latencies)
    over = sum(ms > 3000 for ms in latencies)
    print(
        f"{len(results)} × /meet status, {args.concurrency} at a time, {args.workers} worker(s), "
        f"Slack latency {args.slack_latency * 1000:.0f} ms per call"
    )
    print(f"HTTP 200: {statuses.count(200)}/{len(statuses)}")
    print(
        f"acknowledgement latency (ms): p50 {p50:.0f}  p90 {p90:.0f}  p99 {p99:.0f}  "
        f"max {worst:.0f}  mean {statistics.mean(latencies):.0f}"
    )
    print(f"over 3 s: {over}; throughput {len(results) / wall:.0f} requests/s")
    print(
        f"answered through the response_url: {answered}/{len(requests)}, the last "
        f"{answered_after:.1f} s after the first request"
    )
    ok = statuses.count(200) == len(statuses) and p99 < 500 and over == 0
    ok = ok and answered == len(requests)
    print("goal (p99 < 500 ms, none over 3 s, all answered):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
