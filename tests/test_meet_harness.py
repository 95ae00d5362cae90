"""Driving the app in-process, through Bolt, with requests signed exactly as Slack signs them.

`Harness` builds the real app (`bot.edge.app.build_app`) against the Slack test double and a
fresh database, dispatches signed requests, and waits for the work each listener does after
its acknowledgement, so a test sees everything the person would see.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import pytest
from conftest import SIGNING_SECRET

from bot.edge.app import build_app
from bot.sandbox import signing
from bot.storage.db import session_scope


class ErrorLog(logging.Handler):
    """Errors the app logged (a listener that failed after its ack only logs)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class DrainableExecutor(ThreadPoolExecutor):
    """A thread pool whose submitted work a test can wait for."""

    def __init__(self):
        super().__init__(max_workers=8, thread_name_prefix="test-listener")
        self._futures = []
        self._guard = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        with self._guard:
            self._futures.append(future)
        return future

    def drain(self, timeout: float = 30) -> None:
        while True:
            with self._guard:
                futures, self._futures = self._futures, []
            if not futures:
                return
            _, not_done = wait(futures, timeout=timeout)
            assert not not_done, "listener work did not finish"


@dataclass
class Result:
    status: int
    ack: dict | str | None
    responses: list = field(default_factory=list)

    @property
    def ack_text(self) -> str:
        return self.ack.get("text", "") if isinstance(self.ack, dict) else (self.ack or "")

    @property
    def texts(self) -> list[str]:
        return [r.get("text", "") for r in self.responses if isinstance(r, dict)]

    @property
    def text(self) -> str:
        """Everything the person was told, acknowledgement first."""
        return "\n".join(t for t in [self.ack_text, *self.texts] if t)


class Harness:
    def __init__(self, slack, settings, secret: str = SIGNING_SECRET):
        self.slack = slack
        self.settings = settings
        self.secret = secret
        self.allow_errors = False
        self.executor = DrainableExecutor()
        self.app = build_app(settings, listener_executor=self.executor, work_executor=self.executor)
        self.errors: list[Exception] = []
        self.app.error(self._record)
        self.error_log = ErrorLog()
        for name in ("bot", "slack_bolt"):
            logging.getLogger(name).addHandler(self.error_log)

    def _record(self, error: Exception) -> None:
        self.errors.append(error)

    def close(self) -> None:
        self.executor.drain()
        self.executor.shutdown(wait=True)
        for name in ("bot", "slack_bolt"):
            logging.getLogger(name).removeHandler(self.error_log)

    def session(self):
        return session_scope(self.settings.database_url)

    def dispatch(self, body: bytes, headers: dict) -> tuple[int, dict | str | None]:
        response = self.app.dispatch(signing.bolt_request(body, headers))
        self.executor.drain()
        if self.errors:  # a listener raised: Bolt only logs that, a test must fail
            raise self.errors.pop(0)
        if self.error_log.records and not self.allow_errors:
            records, self.error_log.records = self.error_log.records, []
            raise AssertionError(
                "the app logged errors: " + "; ".join(r.getMessage() for r in records)
            )
        raw = response.body
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return response.status, parsed

    def command(
        self, text: str, user: str = "U1", channel: str = "C1", team: str = "T1", **kwargs
    ):
        url = self.slack.new_response_url()
        body, headers = signing.slash_command(
            self.secret, text, user_id=user, channel_id=channel, response_url=url, team_id=team,
            trigger_id=self.slack.new_trigger_id(), **kwargs
        )  # fmt: skip
        status, ack = self.dispatch(body, headers)
        return Result(status, ack, self.slack.responses(url))

    def click(
        self,
        action_id: str,
        value: str,
        user: str = "U1",
        team: str = "T1",
        *,
        from_home: bool = False,
        channel: str | None = "C1",
        action_type: str = "button",
        **extra,
    ):
        url = None if from_home else self.slack.new_response_url()
        kwargs = {"view": {"type": "home"}} if from_home else {"channel_id": channel}
        body, headers = signing.block_action(
            self.secret, action_id, value, user_id=user, team_id=team, response_url=url,
            trigger_id=self.slack.new_trigger_id(), action_type=action_type, **kwargs, **extra
        )  # fmt: skip
        status, ack = self.dispatch(body, headers)
        return Result(status, ack, self.slack.responses(url) if url else [])

    def submit(self, callback_id: str, values: dict, private_metadata: str, user="U1", team="T1"):
        body, headers = signing.view_submission(
            self.secret,
            callback_id,
            values,
            user_id=user,
            team_id=team,
            private_metadata=private_metadata,
        )
        return self.dispatch(body, headers)

    def event(self, event: dict, team: str = "T1", event_id: str | None = None, **kwargs):
        body, headers = signing.event_callback(
            self.secret, event, team_id=team, event_id=event_id, **kwargs
        )
        return self.dispatch(body, headers)


def populate(slack, team: str = "T1") -> None:
    """A workspace: an admin, an owner, people, a bot, a guest, and channels."""
    slack.add_user(team, "UADMIN", is_admin=True, tz="America/New_York")
    slack.add_user(team, "UOWNER", is_owner=True)
    for i in range(1, 7):
        slack.add_user(team, f"U{i}", tz="Europe/Berlin")
    slack.add_user(team, "UROBOT", is_bot=True)
    slack.add_user(team, "UGUEST", is_restricted=True)
    slack.add_user(team, "UGONE", deleted=True)
    everyone = ["UADMIN", "U1", "U2", "U3", "U4", "UROBOT", "UGUEST"]
    slack.add_channel(team, "C1", "lunch", members=everyone)
    slack.add_channel(team, "C2", "random", members=["UADMIN", "U1", "U5", "UBOT"])
    slack.add_channel(team, "G1", "secret", members=["UADMIN", "U1"], is_private=True)


def open_harness(slack, settings):
    """For a module's `harness` fixture: `yield from open_harness(slack, settings)`."""
    populate(slack)
    h = Harness(slack, settings)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def test_help_is_answered_in_the_acknowledgement(harness):
    result = harness.command("help")
    assert result.status == 200
    assert "Worth Knowing" in result.ack_text and "/meet status" in result.ack_text
    assert result.responses == []


def test_a_listener_that_raises_fails_the_test(harness):
    @harness.app.command("/boom")
    def boom(ack):
        ack()
        time.sleep(0.05)  # after Bolt has seen the ack
        raise RuntimeError("bad")

    body, headers = signing.slash_command(
        SIGNING_SECRET,
        "",
        command="/boom",
        user_id="U1",
        channel_id="C1",
        response_url=harness.slack.new_response_url(),
    )
    with pytest.raises(RuntimeError):
        harness.dispatch(body, headers)


# -- rows a test starts from ------------------------------------------------------------------


def play_rounds(settings, program_id: int, weeks: int = 2, start=None) -> None:
    """Weekly rounds as the clock plays them: each delivered, its check-ins sent at
    mid-round, and the last closed a week after it began."""
    import datetime as dt

    from freezegun import freeze_time

    from bot.domain.services import rounds

    start = start or dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    for week in range(weeks):
        with freeze_time(start + dt.timedelta(weeks=week)):
            rounds.run_round(settings, program_id, slot=rounds.utcnow())
        with freeze_time(start + dt.timedelta(weeks=week, days=3, minutes=1)):
            rounds.send_due_checkins(settings, rounds.utcnow())
    with freeze_time(start + dt.timedelta(weeks=weeks, minutes=1)):
        rounds.close_due_rounds(settings, rounds.utcnow())


def make_program(
    settings, channel: str = "C1", team: str = "T1", *, count_members: bool = True, **options
) -> int:
    """A program as `/meet setup` leaves it: scheduled, and its channel's members counted
    (read from the Slack double, when it has that channel)."""
    from slack_sdk.errors import SlackApiError

    from bot.common.config import ConfigError
    from bot.domain.services.due import reschedule
    from bot.domain.services.participants import read_members
    from bot.domain.services.workspaces import client_for_team
    from bot.storage.models import Program

    options.setdefault("timezone", "America/New_York")
    with session_scope(settings.database_url) as session:
        program = Program(team_id=team, channel_id=channel, **options)
        session.add(program)
        session.flush()
        reschedule(program)
        program_id = program.id
    if count_members:
        try:
            with session_scope(settings.database_url) as session:
                read_members(
                    client_for_team(settings, team), session, session.get(Program, program_id),
                    bot_user_id="UBOT",
                )
        except SlackApiError:
            pass  # a channel the double doesn't have: noted on the program, as in production
        except ConfigError:
            pass  # settings without a token (a test of what happens then): nothing to count
    return program_id


def add_group(
    settings,
    program_id: int,
    members: list[str],
    *,
    days_ago: int = 3,
    outcome: str | None = None,
    closed: bool = False,
    organiser: str | None = None,
) -> int:
    """A delivered group of a round `days_ago` days back."""
    import datetime as dt

    from sqlalchemy import select

    from bot.storage.models import Group, GroupMember, Round, utcnow

    slot = (utcnow() - dt.timedelta(days=days_ago)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    with session_scope(settings.database_url) as session:
        round_ = session.scalar(
            select(Round).where(Round.program_id == program_id, Round.slot == slot)
        ) or Round(
            program_id=program_id,
            slot=slot,
            status="closed" if closed else "delivered",
            closed_at=utcnow() if closed else None,
        )
        group = Group(
            position=len(round_.groups),
            organiser_id=organiser or members[0],
            delivery="posted",
            outcome=outcome,
            outcome_by=members[0] if outcome else None,
            responders=[members[0]] if outcome else [],
            members=[GroupMember(user_id=u) for u in members],
        )
        round_.groups.append(group)
        session.add(round_)
        session.flush()
        return group.id


def row_counts(settings) -> dict[str, int]:
    """How many rows each of the app's tables holds, to prove that nothing was stored."""
    from sqlalchemy import func, select

    from bot.storage.models import Base

    with session_scope(settings.database_url) as session:
        return {
            name: session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


def snapshot(settings) -> dict[str, list]:
    """Every row of the app's tables, to prove that nothing changed."""
    from sqlalchemy import select

    from bot.storage.models import Base

    with session_scope(settings.database_url) as session:
        return {
            name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for name, table in Base.metadata.tables.items()
            if name != "processed_events"
        }
