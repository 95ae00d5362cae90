"""A simulated month with processes SIGKILLed at random: is every message still sent once?

Starts the Slack test double (Slack's rate tiers scaled up, the app pacing a little faster
than they allow, so it meets 429s; and 500s at random, some of them after the message went
out) and the app as it is deployed: on PostgreSQL `python -m bot serve --workers 2
--no-clock` beside three `python -m bot clock --tick 1` processes; on SQLite the default
`python -m bot serve`, whose clock is its own child. Six channels have a weekly round; a
seventh only gets manual rounds: each week an admin's signed `/meet now`, double-clicked,
over HTTP, and two `python -m bot round` processes, all four at once.

Time is simulated: between phases every stored moment (slots, check-in and closing times,
the clock's next slot…) moves 3.5 days into the past, so a month is eight phases: round,
check-in, round, check-in… and a last close. While a phase runs, a random process is
SIGKILLed every 1.5–5 s: a clock, a `round` (run again), serve's master (serve is started
again), one of its workers or its clock child (serve starts those again itself). At the end
it prints intros per group, summaries per round, check-ins per group, rounds stuck and
restarts survived. Goal: exactly one intro per group, at most one summary per round and one
check-in per group, no round stuck, whatever was killed.

    python bench/soak.py                                  # SQLite
    python bench/soak.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import postgres_schema  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.sandbox import signing  # noqa: E402
from bot.sandbox.slack import SlackDouble  # noqa: E402
from bot.slack import round_messages  # noqa: E402
from bot.storage.db import migrate, session_scope  # noqa: E402
from bot.storage.models import Group, Program, Round, utcnow  # noqa: E402

HALF_WEEK = dt.timedelta(days=3, hours=12)
SCHEDULED = [f"CW{n}" for n in range(6)]
MANUAL = "CMANUAL"
PEOPLE_PER_CHANNEL = 12
MANUAL_PEOPLE = 40  # two `round` processes racing have 20 intros to double
ADMIN = "UADMIN"
PHASE_TIMEOUT = 240.0
# Seconds between kills: a process needs about one to start, so most get some work done.
KILL_EVERY = (1.5, 5.0)


class Managed:
    """One app process the soak keeps alive (a clock) or runs to completion (a round)."""

    def __init__(self, name: str, args: list[str], env: dict, logs: Path, until_done: bool):
        self.name, self.args, self.env, self.logs = name, args, env, logs
        self.until_done = until_done
        self.process: subprocess.Popen | None = None
        self.done = False
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.logs / f"{self.name}.{self.starts}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args], env=self.env, cwd=self.logs,
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def check(self) -> None:
        """A round that ended well is done; one that failed is run again, as a person would."""
        if self.process is None or self.process.poll() is None or self.done:
            return
        if self.until_done and self.process.returncode == 0:
            self.done = True
        else:
            self.start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and not self.done

    def kill(self, rng: random.Random) -> str:
        """SIGKILL this process, or for serve one of its children; what was killed."""
        children = _children(self.process.pid) if self.name == "serve" else []
        victim = rng.choice([self.process.pid, *children])
        if victim == self.process.pid:
            self.process.kill()
            self.process.wait()
            return self.name
        what = "serve's clock" if " clock " in _command_line(victim) else "serve's worker"
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return what

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry))
    return found


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Soak:
    SECRET = "soak"

    def __init__(
        self, url: str, clocks: int, workers: int, seed: int, logs: Path, slack: SlackDouble
    ):
        self.url, self.logs, self.slack = url, logs, slack
        self.random = random.Random(seed)
        self.port = _free_port()
        self.env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "DATABASE", "WEB_CONCURRENCY"))},
            "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-T1",
            "SLACK_SIGNING_SECRET": self.SECRET, "SLACK_API_URL": slack.api_url,
            "SLACK_RATE_SCALE": "30", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
        }  # fmt: skip
        # with clocks of their own, serve runs none; without, serve's own clock is the one
        serve = ["serve", "--host", "127.0.0.1", "--workers", str(workers)]
        self.processes = [
            Managed("serve", [*serve, *(["--no-clock"] if clocks else [])], self.env, logs,
                    until_done=False),
            *(Managed(f"clock{n}", ["clock", "--tick", "1"], self.env, logs, until_done=False)
              for n in range(clocks)),
        ]  # fmt: skip
        self.clocks, self.workers = clocks, workers
        self.clicks: list[threading.Thread] = []
        self.answered = Counter()
        self.killed = Counter()
        self.kills = 0
        self.kill_every = KILL_EVERY
        self.killing = threading.Event()
        self.stopping = threading.Event()
        self.guard = threading.Lock()

    # ---------------------------------------------------------------- the world

    def set_up(self) -> None:
        self.slack.add_team("T1", bot_token="xoxb-T1")
        self.slack.add_user("T1", ADMIN, tz="UTC", is_admin=True)
        self.slack.apply_slack_tiers(scale=20)  # the app paces for 30x: it meets 429s
        now = utcnow()
        first = (now - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
        for n, channel in enumerate([*SCHEDULED, MANUAL]):
            size = MANUAL_PEOPLE if channel == MANUAL else PEOPLE_PER_CHANNEL
            people = [f"U{n}{i:03d}" for i in range(size)]
            for user in people:
                self.slack.add_user("T1", user, tz="UTC")
            self.slack.add_channel("T1", channel, channel.lower(), members=[*people, "UBOT"])
            manual = channel == MANUAL
            with session_scope(self.url) as session:
                session.add(Program(
                    team_id="T1", channel_id=channel, post_summary=True, timezone="UTC",
                    weekday=first.weekday(), time_of_day=f"{first:%H:%M}",
                    next_run_at=now + dt.timedelta(days=365) if manual else first,
                ))

    def shift(self, by: dt.timedelta) -> None:
        """Everything stored happened `by` earlier: simulated time moves on by `by`."""
        columns = {
            Round: ("slot", "created_at", "checkin_at", "checkin_sent_at", "closes_at",
                    "closed_at", "summary_posted_at"),
            Program: ("next_run_at",),
            Group: ("post_started_at", "outcome_at"),
        }
        with session_scope(self.url) as session:
            for model, names in columns.items():
                for row in session.scalars(select(model)):
                    for name in names:
                        value = getattr(row, name)
                        if value is not None:
                            setattr(row, name, value - by)

    def end_of_month(self) -> None:
        """No fifth week: the programs are switched off, their last rounds still close."""
        with session_scope(self.url) as session:
            for program in session.scalars(select(Program)):
                program.enabled = False

    # ---------------------------------------------------------------- chaos

    def chaos(self) -> None:
        """Kill a random process now and then; answer 500 now and then."""
        while not self.stopping.is_set():
            time.sleep(self.random.uniform(*self.kill_every))
            with self.guard:
                for managed in self.processes:
                    managed.check()
                if not self.killing.is_set():
                    continue
                fault = self.random.random()
                if fault < 0.3:
                    method = self.random.choice(
                        ["chat.postMessage", "conversations.open", "conversations.members",
                         "conversations.history"])
                    self.slack.fail_next(method, status=500)
                elif fault < 0.5:
                    self.slack.fail_after_next("chat.postMessage", status=500)
                alive = [m for m in self.processes if m.alive()]
                if alive:
                    victim = self.random.choice(alive)
                    killed = victim.kill(self.random)
                    self.killed[re.sub(r"\d+(-\d+)?$", "", killed)] += 1
                    self.kills += 1
                    if not victim.alive():
                        victim.start()

    def click_now(self) -> None:
        """The admin's `/meet now`, tried again (signed anew) while serve is restarting."""
        deadline = time.monotonic() + PHASE_TIMEOUT / 2
        while time.monotonic() < deadline:
            body, headers = signing.slash_command(
                self.SECRET, "now", user_id=ADMIN, channel_id=MANUAL,
                response_url=self.slack.new_response_url(),
            )  # fmt: skip
            try:
                status = signing.post(f"http://127.0.0.1:{self.port}/slack/events", body,
                                      headers, timeout=5)[0]  # fmt: skip
            except OSError:
                status = None  # serve was killed, or is starting again
            if status == 200:
                self.answered["/meet now answered"] += 1
                return
            self.answered[f"/meet now retried after {status or 'no answer'}"] += 1
            time.sleep(0.5)
        self.answered["/meet now never answered"] += 1

    def run_manual_rounds(self) -> None:
        with self.guard:
            self.clicks = [threading.Thread(target=self.click_now) for _ in range(2)]
            for click in self.clicks:
                click.start()
            for n in range(2):
                managed = Managed(
                    f"round{len(self.processes)}-{n}", ["round", MANUAL], self.env, self.logs,
                    until_done=True,
                )
                self.processes.append(managed)
            for managed in self.processes[-2:]:
                managed.start()

    def wait_for_serve(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"serve did not answer /healthz; see {self.logs}/serve.1.log")

    def wait(self, what: str, condition) -> bool:
        deadline = time.monotonic() + PHASE_TIMEOUT
        while time.monotonic() < deadline:
            with self.guard:
                busy = any(m.alive() for m in self.processes if m.until_done) or any(
                    click.is_alive() for click in self.clicks
                )
            if not busy and condition():
                print(f"{what}: done ({self.kills} kills so far)", flush=True)
                return True
            time.sleep(0.5)
        print(f"STUCK: {what} not done after {PHASE_TIMEOUT:.0f} s", flush=True)
        return False

    # ---------------------------------------------------------------- conditions

    def rounds(self) -> list[Round]:
        with session_scope(self.url) as session:
            return list(session.scalars(select(Round)))

    def weekly_round_done(self, week: int) -> bool:
        rows = self.rounds()
        now = utcnow()
        with session_scope(self.url) as session:
            scheduled = session.scalars(select(Program).where(Program.channel_id != MANUAL))
            moved_on = all(p.next_run_at > now for p in scheduled)
        return (
            moved_on
            and all(r.status not in ("planned", "delivering") for r in rows)
            and len(rows) >= (week + 1) * (len(SCHEDULED) + 1)
        )

    def checkins_done(self) -> bool:
        now = utcnow()
        return all(
            r.checkin_sent_at is not None
            for r in self.rounds()
            if r.closed_at is None and r.status == "delivered" and r.checkin_at <= now
        )

    def all_closed(self) -> bool:
        return all(r.closed_at is not None for r in self.rounds())

    # ---------------------------------------------------------------- the month

    def run(self, weeks: int) -> int:
        self.set_up()
        chaos = threading.Thread(target=self.chaos, daemon=True)
        stuck = 0
        started = time.monotonic()
        try:  # from the first start on: a failed start stops the ones already running
            for managed in self.processes:
                managed.start()
            self.wait_for_serve()
            chaos.start()
            for week in range(weeks):
                self.killing.set()
                self.run_manual_rounds()
                stuck += not self.wait(f"week {week + 1}'s rounds",
                                       lambda w=week: self.weekly_round_done(w))
                self.shift(HALF_WEEK)
                stuck += not self.wait(f"week {week + 1}'s check-ins", self.checkins_done)
                if week == weeks - 1:
                    self.end_of_month()
                self.shift(HALF_WEEK)
            stuck += not self.wait("closing the last rounds", self.all_closed)
            self.killing.clear()
        finally:
            self.stopping.set()
            if chaos.is_alive():
                chaos.join()
            for managed in self.processes:
                managed.stop()
        wall = time.monotonic() - started
        return self.report(stuck, wall)

    def report(self, stuck_phases: int, wall: float) -> int:
        with session_scope(self.url) as session:
            groups = session.execute(select(Group.id, Group.delivery)).all()
            rounds = session.execute(
                select(Round.id, Round.status, Round.summary_posted_at, Program.channel_id)
                .join(Program, Program.id == Round.program_id)
            ).all()
        messages = self.slack.messages()
        intros = Counter(
            str((m.metadata or {}).get("event_payload", {}).get("group_id")) for m in messages
            if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT
        )
        checkins = Counter(
            block.get("block_id", "")[len("checkin-"):]
            for m in messages for block in (m.blocks or [])
            if str(block.get("block_id", "")).startswith("checkin-")
        )
        summary = re.compile(r"This round of Worth Knowing")
        summaries = Counter(m.channel for m in messages if summary.search(m.text or ""))
        claimed = Counter(channel for _, _, posted, channel in rounds if posted is not None)
        posted = [g for g, delivery in groups if delivery == "posted"]
        per_group = Counter(intros.get(str(g), 0) for g in posted)
        stuck = [r for r, status, _, _ in rounds if status in ("planned", "delivering")]
        closed = sum(status == "closed" for _, status, _, _ in rounds)
        extra_summaries = sum(max(0, summaries[c] - claimed[c]) for c in summaries)
        calls = self.slack.calls()
        shape = (f"serve with {self.workers} worker(s) and no clock, {self.clocks} clock(s)"
                 if self.clocks else f"serve with {self.workers} worker(s) and its own clock")
        print(f"database: {self.url.split(':')[0]}; {shape}; wall time {wall:.0f} s")
        print(f"kills (SIGKILL): {dict(sorted(self.killed.items()))}")
        print(f"/meet now clicks: {dict(sorted(self.answered.items()))}")
        print(f"restarts survived (SIGKILL): {self.kills}; Slack answered "
              f"{sum(c.status == 429 for c in calls)} x 429 and {sum(c.status == 500 for c in calls)}"
              " x 500")
        print(f"rounds: {len(rounds)} ({closed} closed), stuck: {len(stuck)}, "
              f"phases that timed out: {stuck_phases}")
        print(f"intros per delivered group: {dict(sorted(per_group.items()))} "
              f"({len(posted)} groups delivered, "
              f"{sum(d == 'failed' for _, d in groups)} failed)")
        print(f"check-ins per group: {dict(sorted(Counter(checkins.values()).items()))} "
              f"({len(checkins)} groups checked in)")
        print(f"summaries: {sum(summaries.values())} posted for {closed} closed rounds, "
              f"{extra_summaries} more than the rounds that claimed one (a summary whose "
              "post was cut by a kill or a 5xx is not repeated)")
        ok = (
            set(per_group) <= {1} and max(checkins.values(), default=1) <= 1
            and extra_summaries == 0 and not stuck and not stuck_phases
        )
        print("exactly once: " + ("yes" if ok else "NO"))
        return 0 if ok else 1


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the app processes too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL; default a fresh SQLite file")
    parser.add_argument("--clocks", type=int,
                        help="clock processes beside serve (default 3 on PostgreSQL; "
                        "0 on SQLite: serve runs its own clock)")
    parser.add_argument("--workers", type=int,
                        help="serve's web workers (default 2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every", default="1.5-5", metavar="MIN-MAX",
                        help="seconds between kills (default 1.5-5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SlackDouble() as slack:
        logs = Path(tmp)
        drop = None
        if args.database_url:
            url, drop = postgres_schema(args.database_url, "soak")
        else:
            url = f"sqlite:///{logs / 'soak.db'}"
        try:
            migrate(url)
            postgres = url.startswith("postgresql")
            clocks = args.clocks if args.clocks is not None else (3 if postgres else 0)
            workers = args.workers or (2 if postgres else 1)
            low, _, high = args.kill_every.partition("-")
            soak = Soak(url, clocks, workers, args.seed, logs, slack)
            soak.kill_every = (float(low), float(high or low))
            return soak.run(args.weeks)
        finally:
            if drop:
                drop()


if __name__ == "__main__":
    raise SystemExit(main())
