"""`python -m bot demo`: the real app against a simulated workspace, a few weeks in a minute.

Nothing here stands in for the app: the same Bolt listeners, services, delivery, clock and
database code as `serve` answer signed HTTP requests on 127.0.0.1, and talk to the simulated
Slack Web API (bot/sandbox/slack.py) on another loopback port. The demo plays the people
(slash commands, button clicks, events, signed as Slack signs them) and drives the clock
with explicit times, so weeks pass in seconds. It never reads `.env` and needs no network.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import random
import secrets
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.common.config import ConfigError, Settings, load
from bot.common.csvfile import InputError
from bot.domain.csvinput import read_members
from bot.domain.schedule import zone as time_zone
from bot.sandbox import render, signing
from bot.sandbox.slack import SlackDouble
from bot.slack import round_messages
from bot.storage.models import utcnow

COMPANY = Path(str(resources.files("bot").joinpath("data/example-company.csv")))
TEAM = "TDEMO"
TEAM_NAME = "Example Co"
CHANNEL = "CLUNCH"
CHANNEL_NAME = "lunch"
BOT_USER = "UWORTHBOT"
RATE_SCALE = 1000  # the simulated Slack's rate limits, and the app's pacing, this much faster
MAX_WEEKS = 12
WAIT_SECONDS = 20.0
# How groups answer the check-in: (share of groups, what one of them clicks).
ANSWERS = ((0.6, round_messages.CHECKIN_MET), (0.15, round_messages.CHECKIN_NOT_YET),
           (0.05, round_messages.CHECKIN_COULDNT))
INTROS_SHOWN = 3
CHECKINS_SHOWN = 2
DIRECT_SHOWN = 2


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    email: str | None
    title: str
    level: int | None
    department: str | None
    location: str | None
    timezone: str


def _whole(name: str, raw: str | None, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name} is {raw!r}: use a whole number from {low} to {high}")
    return value


def cmd_demo(args) -> int:
    weeks = _whole("--weeks", args.weeks, 1, MAX_WEEKS, 4)
    size = _whole("--size", args.size, 2, 8, 2)
    seed = _whole("--seed", args.seed, 0, 2**31, secrets.randbelow(2**31))
    try:
        people = read_people(Path(args.people) if args.people else COMPANY)
    except InputError as error:
        raise ConfigError(str(error)) from None
    if len(people) < 4:
        raise ConfigError(f"{args.people}: has {len(people)} people; the demo needs at least 4")
    if args.keep:
        keep = Path(args.keep)
        if keep.exists() and not keep.is_dir():
            raise ConfigError(f"--keep {args.keep}: is a file, not a directory")
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"--keep {args.keep}: cannot make this folder ({error.strerror}): "
                "name a folder you can write to, such as ./demo"
            ) from None
        if (keep / "worthknowing.db").exists():
            raise ConfigError(f"--keep {args.keep}: already holds a worthknowing.db; pick a new DIR")
        kept = keep / "worthknowing.db"
        args.interrupted = f"the demo stopped; what it played so far is kept in {kept}"
        Demo(people, weeks, size, seed, keep).run()
        url = f"sqlite:///{(keep / 'worthknowing.db').resolve()}"
        print(f"\nThe database is kept. Look at it with:\n  DATABASE_URL={url} python -m bot stats")
        print(f"  DATABASE_URL={url} python -m bot levels export")
        return 0
    # After Ctrl-C a file still open (SQLite's journal) must not turn into a traceback.
    with tempfile.TemporaryDirectory(prefix="worth-knowing-demo-",
                                     ignore_cleanup_errors=True) as folder:  # fmt: skip
        Demo(people, weeks, size, seed, Path(folder)).run()
    return 0


def read_people(path: Path) -> list[Person]:
    """The members file as `preview --members` reads it, plus the optional name, email and
    title columns the simulated workspace shows."""
    rows = read_members(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        extra = {}
        for raw in csv.DictReader(handle):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
                   if isinstance(v, str)}
            extra.setdefault(row.get("user_id", ""), row)
    people = []
    for row in rows:
        more = extra.get(row.user_id, {})
        zone = getattr(row.timezone, "key", None)  # a fixed UTC offset has no zone name
        people.append(
            Person(
                user_id=row.user_id,
                name=more.get("name") or row.user_id,
                email=more.get("email") or None,
                title=more.get("title") or "",
                level=row.level,
                department=row.department,
                location=row.location,
                timezone=zone or "UTC",
            )
        )
    return people


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """server_close() waits for the requests under way (ThreadingMixIn joins its threads)."""

    daemon_threads = False
    block_on_close = True


class Demo:
    """One play-through: a workspace, the app on loopback, and the people using it."""

    def __init__(self, people: list[Person], weeks: int, size: int, seed: int, folder: Path):
        self.people = people
        self.weeks = weeks
        self.size = size
        self.random = random.Random(seed)
        self.folder = folder
        self.names = {p.user_id: p.name for p in people}
        self.names[BOT_USER] = "Worth Knowing"
        self.channels = {CHANNEL: CHANNEL_NAME}
        self.secret = secrets.token_hex(16)
        self.slack = SlackDouble()
        self.slack.rate_limit_scale = RATE_SCALE
        self.admin = _pick(people, lambda p: p.department == "People" and (p.level or 0) >= 6)
        rest = [p for p in people if p is not self.admin]
        self.joiner = rest[-1]
        self.pauser = rest[len(rest) // 3]
        self.leveller = _pick(rest[::-1], lambda p: p.level is None)
        if self.leveller in (self.joiner, self.pauser):
            self.leveller = rest[1]

    # -- the whole story ---------------------------------------------------------------------

    def run(self) -> None:
        from bot.edge.app import LISTENER_THREADS, WORK_THREADS, Pool

        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
        self.slack.start()
        try:
            self._seed_workspace()
            self.settings = self._settings()
            from bot.storage.db import dispose_engines, migrate

            migrate(self.settings.database_url)
            pools = (Pool(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
                     Pool(max_workers=WORK_THREADS, thread_name_prefix="work"))  # fmt: skip
            server = self._serve(pools)
            interrupted = False
            try:
                self._play()
            except KeyboardInterrupt:
                interrupted = True
                raise
            finally:
                # The requests under way, then the listeners they started, then the work those
                # handed on, each finishing while Slack and the database are still there: after
                # Ctrl-C the app's work went on as the database was deleted, an ERROR a call.
                # Work not started yet is dropped then; at the end it is done (--keep keeps it).
                server.shutdown()
                server.server_close()
                for pool in pools:
                    pool.shutdown(wait=True, cancel_futures=interrupted)
                dispose_engines()
        finally:
            self.slack.stop()

    def _seed_workspace(self) -> None:
        self.slack.add_team(TEAM, name=TEAM_NAME, bot_token="xoxb-demo", bot_user_id=BOT_USER)
        for person in self.people:
            self.slack.add_user(
                TEAM, person.user_id, name=person.user_id.lower(), real_name=person.name,
                tz=person.timezone, email=person.email, title=person.title,
                is_admin=person is self.admin,
            )
        members = [p.user_id for p in self.people if p is not self.joiner]
        self.slack.add_channel(TEAM, CHANNEL, CHANNEL_NAME, members=members)

    def _settings(self) -> Settings:
        return load(
            env={
                "SLACK_BOT_TOKEN": "xoxb-demo",
                "SLACK_SIGNING_SECRET": self.secret,
                "SLACK_API_URL": self.slack.api_url,
                "DATABASE_URL": f"sqlite:///{self.folder.resolve() / 'worthknowing.db'}",
                "SLACK_RATE_SCALE": str(RATE_SCALE),
                "LOG_LEVEL": "ERROR",
            }
        )

    def _serve(self, pools) -> _ThreadingWSGIServer:
        from bot.edge.web import create_wsgi

        server = make_server(
            "127.0.0.1", 0, create_wsgi(self.settings, pools=pools),
            server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
        )
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.app_url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        return server

    def _play(self) -> None:
        from bot.jobs.clock import Clock

        self.clock = Clock(self.settings)
        admin, joiner, pauser, leveller = self.admin, self.joiner, self.pauser, self.leveller
        heading(f"{TEAM_NAME}: {len(self.people)} people, #{CHANNEL_NAME} has "
                f"{len(self.people) - 1} of them")
        print(f"{_who(admin)} is a workspace admin and sets up lunch pairing.")

        heading(f"{admin.name} types /meet setup in #{CHANNEL_NAME}")
        self.show_reply(admin, self.command(admin, "setup"))
        self.show_channel_since(0)
        self._let_people_set_levels()
        if self.size != 2:
            heading(f"{admin.name} types /meet size {self.size}")
            self.show_reply(admin, self.command(admin, f"size {self.size}"))
        self._hr_import()

        heading(f"{joiner.name} joins #{CHANNEL_NAME}")
        seen = len(self.slack.messages())
        self.slack.add_member(TEAM, CHANNEL, joiner.user_id)
        self.event({"type": "member_joined_channel", "user": joiner.user_id, "channel": CHANNEL,
                    "channel_type": "C", "team": TEAM})
        self.wait(lambda: len(self.slack.messages()) > seen, "the welcome message")
        self.show_dms_since(seen, joiner)

        heading(f"{pauser.name} types /meet pause 2 weeks")
        self.show_reply(pauser, self.command(pauser, "pause 2 weeks"))
        level = 3 if leveller.level is None else leveller.level
        heading(f"{_who(leveller)} types /meet level {level}")
        self.show_reply(leveller, self.command(leveller, f"level {level}"))

        now = utcnow().replace(second=0, microsecond=0)
        self.clock.tick(now)
        for week in range(1, self.weeks + 1):
            now = self._week(week, now)
        self._after()

    def _let_people_set_levels(self) -> None:
        """The admin clicks [ Change settings ] under the setup answer and ticks one box."""
        from bot.edge import home

        label = home.OPTION_LABELS["self_service_levels"]
        heading(f"{self.admin.name} clicks [ Change settings ] and ticks \"{label}\"")
        response_url = self.last_response_url
        setup = self.slack.responses(response_url)[-1]
        opened = len(self.slack.calls("views.open"))
        body, headers = signing.block_action(
            self.secret, home.SETTINGS, _button_value(setup.get("blocks")),
            user_id=self.admin.user_id, team_id=TEAM, channel_id=CHANNEL, block_id="setup",
            response_url=response_url, trigger_id=self.slack.new_trigger_id(),
        )
        self._post(body, headers)
        self.wait(lambda: len(self.slack.calls("views.open")) > opened, "the settings form")
        view = self.slack.views("modal")[-1]
        answered = len(self.slack.responses(response_url))
        body, headers = signing.view_submission(
            self.secret, view["callback_id"], filled_in(view, tick={"self_service_levels"}),
            user_id=self.admin.user_id, team_id=TEAM, view_id=view["id"],
            private_metadata=view.get("private_metadata", ""), blocks=view["blocks"],
        )
        self._post(body, headers)
        self.wait(lambda: len(self.slack.responses(response_url)) > answered, "the saved settings")
        self.show_reply(self.admin, render.message(self.slack.responses(response_url)[-1],
                                                   self.names, self.channels))

    def _hr_import(self) -> None:
        """The admin loads levels, departments and offices from HR, as `levels import` does."""
        from bot.domain.levels.importer import import_levels
        from bot.domain.services.workspaces import client_for_team
        from bot.storage.db import session_scope

        path = self.folder / "hr-export.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["user_id", "level", "department", "location"])
            for p in self.people:
                writer.writerow([p.user_id, p.level or "", p.department or "", p.location or ""])
        with session_scope(self.settings.database_url) as session:
            report = import_levels(client_for_team(self.settings, TEAM), session, TEAM, path)
        heading(f"{self.admin.name} imports levels, departments and offices from HR")
        print(f"python -m bot levels import hr-export.csv  →  {report.matched} people matched, "
              f"{report.updated} updated (levels stay private: only each person and admins "
              "see them)")

    def _week(self, week: int, now: dt.datetime) -> dt.datetime:
        slot = self._next_slot()
        if slot is None:
            raise ConfigError("the program has no next round; the demo cannot go on")
        before = len(self.slack.messages())
        local = slot.astimezone(time_zone(self.admin.timezone))
        when = f"{local:%A} {local.day} {local:%B}, {local:%H:%M}"  # "Monday 7 December, 12:00"
        heading(f"Week {week}: round on {when} ({self.admin.timezone})")
        self.clock.tick(max(now, slot - dt.timedelta(hours=20)))  # the heads-up, a day before
        self.clock.tick(slot)
        posted = self.slack.messages()[before:]
        for message in posted:
            if message.channel == CHANNEL:
                print(f"In #{CHANNEL_NAME}: " + render.message(_body(message), self.names,
                                                                  self.channels))
        intros = [m for m in posted if m.text.startswith("Hi ") and m.channel != CHANNEL]
        print(f"{len(intros)} group DMs opened.")
        for message in intros[:INTROS_SHOWN]:
            members = [u for u in self.slack.channel_members(TEAM, message.channel)
                       if u != BOT_USER]
            print(f"\n  Group DM with {', '.join(self.names.get(u, u) for u in members)}:")
            print(_indent(render.message(_body(message), self.names, self.channels)))
        if len(intros) > INTROS_SHOWN:
            print(f"\n  … and {len(intros) - INTROS_SHOWN} more intros like these.")
        direct = [m for m in posted if m.channel != CHANNEL and m not in intros]
        for message in direct[:DIRECT_SHOWN]:
            to = [u for u in self.slack.channel_members(TEAM, message.channel) if u != BOT_USER]
            text = render.message(_body(message), self.names, self.channels)
            print(f"\n  A direct message to {', '.join(self.names.get(u, u) for u in to)}:")
            print(_indent(text))
        if len(direct) > DIRECT_SHOWN:
            print(f"\n  … and {len(direct) - DIRECT_SHOWN} more direct messages.")
        checkin_at = self._checkin_time(slot)
        before = len(self.slack.messages())
        self.clock.tick(checkin_at)
        questions = [m for m in self.slack.messages()[before:] if m.text == "Did you get to meet?"]
        print(f"\n{checkin_at.astimezone(time_zone(self.admin.timezone)):%A}: the app asks "
              f"{len(questions)} groups \"Did you get to meet?\"")
        self._answer(questions)
        return checkin_at

    def _answer(self, questions) -> None:
        updates = len(self.slack.calls("chat.update"))
        clicked: list[tuple[str, str, str]] = []
        for question in questions:
            roll, action = self.random.random(), None
            for share, choice in ANSWERS:
                if roll < share:
                    action = choice
                    break
                roll -= share
            if action is None:
                continue
            members = [u for u in self.slack.channel_members(TEAM, question.channel)
                       if u != BOT_USER]
            clicker = self.random.choice(members)
            group_id = _button_value(question.blocks)
            body, headers = signing.block_action(
                self.secret, action, group_id, user_id=clicker, team_id=TEAM,
                channel_id=question.channel, message_ts=question.ts, block_id=f"checkin-{group_id}",
                message={"ts": question.ts, "text": question.text, "blocks": question.blocks},
                response_url=self.slack.new_response_url(),
            )
            self._post(body, headers)
            clicked.append((question.channel, question.ts, clicker))
        self.wait(lambda: len(self.slack.calls("chat.update")) >= updates + len(clicked),
                  "the answers to the check-ins")
        silent = len(questions) - len(clicked)
        print(f"{len(clicked)} groups answered, {silent} stayed quiet. For example:")
        by_ts = {(m.channel, m.ts): m for m in self.slack.messages()}
        for channel, ts, clicker in clicked[:CHECKINS_SHOWN]:
            answer = by_ts.get((channel, ts))
            if answer is None:
                continue
            text = render.message(_body(answer), self.names, self.channels)
            print(f"  {self.names[clicker]} clicks a button; the question in their group DM "
                  "now reads:")
            print(_indent(text))

    def _after(self) -> None:
        # The last round stays open: closing it is the next round's first step.
        person = self.leveller
        heading(f"{person.name} opens Worth Knowing's Home tab")
        self.slack.reset_calls()
        self.event({"type": "app_home_opened", "user": person.user_id, "tab": "home",
                    "channel": "D" + person.user_id[1:]})
        self.wait(lambda: self.slack.home_view(TEAM, person.user_id), "the Home tab")
        print(_indent(render.blocks(self.slack.home_view(TEAM, person.user_id)["blocks"],
                                    self.names, self.channels)))
        heading(f"{person.name} types /meet status")
        self.show_reply(person, self.command(person, "status"))
        heading(f"{self.admin.name} types /meet stats")
        self.show_reply(self.admin, self.command(self.admin, "stats", answers=2))
        for shared in self.slack.files()[:1]:
            charts = ", ".join(f.filename for f in self.slack.files())
            print(f"{self.admin.name} gets the charts in a direct message ({charts}):")
            print(_indent(render.message({"text": shared.initial_comment or ""}, self.names,
                                         self.channels)))  # fmt: skip

    # -- the app's state, read as the clock would ----------------------------------------------

    def _program(self):
        from sqlalchemy import select

        from bot.storage.db import session_scope
        from bot.storage.models import Program

        with session_scope(self.settings.database_url) as session:
            program = session.scalar(select(Program).where(Program.channel_id == CHANNEL))
            session.expunge(program)
            return program

    def _next_slot(self) -> dt.datetime | None:
        return self._program().next_run_at

    def _checkin_time(self, slot: dt.datetime) -> dt.datetime:
        """When the round just started asks "did you meet?" (a minute after it, at least)."""
        from sqlalchemy import select

        from bot.storage.db import session_scope
        from bot.storage.models import Round

        with session_scope(self.settings.database_url) as session:
            checkin_at = session.scalar(
                select(Round.checkin_at).order_by(Round.slot.desc()).limit(1)
            )
        return max(checkin_at, slot + dt.timedelta(minutes=1))

    # -- people in Slack -----------------------------------------------------------------------

    def command(self, person: Person, text: str, answers: int = 1) -> str:
        response_url = self.slack.new_response_url()
        body, headers = signing.slash_command(
            self.secret, text, user_id=person.user_id, channel_id=CHANNEL,
            response_url=response_url, team_id=TEAM, team_domain="example-co",
            channel_name=CHANNEL_NAME, trigger_id=self.slack.new_trigger_id(),
        )
        self.last_response_url = response_url
        status, _, reply = self._post(body, headers)
        if reply.strip():
            try:
                return render.message(json.loads(reply), self.names, self.channels)
            except ValueError:
                return reply
        self.wait(lambda: len(self.slack.responses(response_url)) >= answers,
                  f"the answer to /meet {text}")  # fmt: skip
        return "\n".join(render.message(b, self.names, self.channels)
                         for b in self.slack.responses(response_url))

    def event(self, event: dict) -> None:
        body, headers = signing.event_callback(self.secret, event, team_id=TEAM,
                                               bot_user_id=BOT_USER)
        self._post(body, headers)

    def _post(self, body: bytes, headers: dict[str, str]):
        status, answer_headers, reply = signing.post(self.app_url, body, headers)
        if status != 200:
            raise ConfigError(f"the app answered HTTP {status}: {reply[:200]}")
        return status, answer_headers, reply

    def wait(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise ConfigError(f"the demo waited {WAIT_SECONDS:.0f} s for {what} in vain")
            time.sleep(0.02)

    # -- printing ------------------------------------------------------------------------------

    def show_reply(self, person: Person, text: str) -> None:
        print(f"Only {person.name} sees:")
        print(_indent(text))

    def show_channel_since(self, index: int) -> None:
        for message in self.slack.messages(CHANNEL)[index:]:
            print(f"In #{CHANNEL_NAME}: " + render.message(_body(message), self.names,
                                                          self.channels))

    def show_dms_since(self, index: int, person: Person) -> None:
        for message in self.slack.messages()[index:]:
            text = render.message(_body(message), self.names, self.channels)
            print(f"{person.name} gets a direct message:")
            print(_indent(text))


def filled_in(view: dict, tick: set[str] = frozenset()) -> dict[str, dict[str, dict]]:
    """view.state.values as Slack sends them when a person submits a modal as it was shown,
    with the checkbox options in `tick` ticked as well."""
    values: dict[str, dict[str, dict]] = {}
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        kind, state = element["type"], {"type": element["type"]}
        if kind == "static_select":
            state["selected_option"] = element.get("initial_option")
        elif kind == "timepicker":
            state["selected_time"] = element.get("initial_time")
        elif kind == "checkboxes":
            chosen = list(element.get("initial_options") or [])
            chosen += [o for o in element.get("options", [])
                       if o["value"] in tick and o not in chosen]
            state["selected_options"] = chosen
        else:
            state["value"] = element.get("initial_value")
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def _pick(people: list[Person], rule: Callable[[Person], bool]) -> Person:
    """The first person the rule fits, else the first person."""
    return next((p for p in people if rule(p)), people[0])


def _who(person: Person) -> str:
    return f"{person.name} ({person.title})" if person.title else person.name


def _body(message) -> dict:
    return {"text": message.text, "blocks": message.blocks}


def _button_value(blocks: list[dict] | None) -> str:
    for block in blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("value"):
                return element["value"]
    return ""


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def heading(text: str) -> None:
    print(f"\n== {text}")
