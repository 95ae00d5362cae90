"""Every kind of request is acknowledged before the app asks Slack anything or waits for the
database's write lock: here Slack answers every call after 2 seconds while another connection
holds the write lock, and each acknowledgement must still come within 1 second (Slack gives up
after 3, and turns off event subscriptions that fail too often)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time

import pytest
from conftest import SIGNING_SECRET, wait_for
from sqlalchemy import create_engine, select, text
from test_meet_admin import form
from test_meet_harness import make_program, open_harness

from bot.edge import home
from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import ProcessedEvent, Program

SLOW_SLACK = 2.0
ACK_WITHIN = 1.0


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@contextlib.contextmanager
def write_lock_held(database_url: str):
    """Another connection holds the write lock, as a round being delivered does."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1)
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = create_engine(database_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        # Readers pass, writers wait: what a long write transaction means to others.
        connection.execute(text("LOCK TABLE processed_events, programs IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()
    engine.dispose()


def acknowledged_in(h, body: bytes, headers: dict) -> tuple[float, object]:
    started = time.perf_counter()
    response = h.app.dispatch(signing.bolt_request(body, headers))
    return time.perf_counter() - started, response


def test_every_kind_of_request_is_acknowledged_before_slack_or_the_write_lock(harness):
    h = harness
    program_id = make_program(h.settings, "C1")
    h.slack.latency = SLOW_SLACK
    setup_url = h.slack.new_response_url()
    requests = {
        "/meet status": signing.slash_command(
            SIGNING_SECRET, "status", user_id="U1", channel_id="C1",
            response_url=h.slack.new_response_url(),
        ),
        "settings submitted": signing.view_submission(
            SIGNING_SECRET, home.SETTINGS_CALLBACK, form(), user_id="UADMIN",
            private_metadata=json.dumps({"program": program_id, "response_url": setup_url}),
        ),
        "Home tab button": signing.block_action(
            SIGNING_SECRET, home.PAUSE, str(program_id), user_id="U1", view={"type": "home"},
        ),
        "Home tab opened": signing.event_callback(
            SIGNING_SECRET, {"type": "app_home_opened", "user": "U2", "tab": "home"},
            event_id="EvHOME",
        ),
        "member joined": signing.event_callback(
            SIGNING_SECRET, {"type": "member_joined_channel", "user": "U5", "channel": "C1"},
            event_id="EvJOIN",
        ),
    }  # fmt: skip
    took, answers = {}, {}
    with write_lock_held(h.settings.database_url):
        for name, (body, headers) in requests.items():
            took[name], answers[name] = acknowledged_in(h, body, headers)
    assert {name: a.status for name, a in answers.items()} == dict.fromkeys(requests, 200)
    assert not answers["settings submitted"].body  # acknowledged empty: the modal closes
    slow = {name: round(s, 2) for name, s in took.items() if s >= ACK_WITHIN}
    assert not slow, f"acknowledged too late: {slow}"

    h.executor.drain(timeout=60)  # the work done after the acknowledgements, now Slack is slow
    with session_scope(h.settings.database_url) as session:
        program = session.get(Program, program_id)
        assert (program.cadence, program.group_size) == ("biweekly", 3)  # saved after all
        assert session.get(ProcessedEvent, "EvHOME") is not None
    assert "every 2 weeks on Thursday" in h.slack.responses(setup_url)[0]["text"]
    assert h.slack.home_view("T1", "U2") is not None
    welcome = h.slack.messages(h.slack.conversation_id("T1", ["U5"]))
    assert len(welcome) == 1


def test_a_repeated_event_is_acknowledged_and_handled_once(harness):
    make_program(harness.settings, "C1")
    event = {"type": "member_joined_channel", "user": "U5", "channel": "C1"}
    for retry in (None, 1, 2):
        status, _ = harness.event(event, event_id="EvSAME", retry_num=retry)
        assert status == 200
    welcome = harness.slack.messages(harness.slack.conversation_id("T1", ["U5"]))
    assert len(welcome) == 1


def others_can_write(database_url: str, table: str) -> None:
    """Raises if a write transaction of the app holds the lock others would need."""
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0.5)
        other.isolation_level = None
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if still held
        other.execute("ROLLBACK")
        other.close()
        return
    engine = create_engine(database_url)
    with engine.connect() as other:
        # An INSERT or UPDATE holds ROW EXCLUSIVE on its table until its transaction ends.
        writers = other.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = :table AND c.relnamespace = current_schema()::regnamespace "
                "AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
            ),
            {"table": table},
        )
        other.rollback()
    engine.dispose()
    assert writers == 0, f"a write transaction on {table} is open while Slack answers"



def test_planning_stores_members_before_reading_their_profiles(harness):
    """Custom profile fields take a users.profile.get per person: no write waits on them."""
    import threading

    from bot.domain.services.rounds import run_round
    from bot.storage.models import Workspace

    h = harness
    h.slack.set_profile_fields("T1", [{"id": "Xf1", "label": "Grade"}])
    with session_scope(h.settings.database_url) as session:
        session.add(Workspace(team_id="T1", level_field="Grade"))
    program_id = make_program(h.settings, "C1")
    h.slack.add_member("T1", "C1", "UBOT")
    h.slack.slow_next("users.profile.get", 2.0)
    planning = threading.Thread(target=run_round, args=(h.settings, program_id))
    planning.start()
    try:
        wait_for(lambda: h.slack.calls("users.profile.get"))
        others_can_write(h.settings.database_url, "members")
    finally:
        planning.join(timeout=30)
    assert len(h.slack.calls("users.profile.get")) >= 4


def test_closing_a_round_commits_before_it_posts_to_slack(harness):
    """The summary goes out after the round's closing is committed: while Slack is slow to
    answer, others can still write (on SQLite the whole database, on PostgreSQL that round)."""
    import datetime as dt
    import threading

    from test_meet_harness import add_group

    from bot.domain.services.rounds import close_due_rounds
    from bot.storage.models import Round, utcnow

    h = harness
    program_id = make_program(h.settings, "C1", post_summary=True)
    h.slack.add_member("T1", "C1", "UBOT")
    add_group(h.settings, program_id, ["U1", "U2"], outcome="met")
    with session_scope(h.settings.database_url) as session:
        round_ = session.scalar(select(Round.id))
        session.get(Round, round_).closes_at = utcnow() - dt.timedelta(minutes=1)
    h.slack.slow_next("chat.postMessage", 3.0)
    closing = threading.Thread(target=close_due_rounds, args=(h.settings, utcnow()))
    closing.start()
    try:
        wait_for(lambda: h.slack.messages("C1"))
        assert "1 lunch group formed, 1 reported meeting" in h.slack.messages("C1")[0].text
        others_can_write(h.settings.database_url, "rounds")
    finally:
        closing.join(timeout=30)
    with session_scope(h.settings.database_url) as session:
        assert session.get(Round, round_).summary_posted_at is not None


def test_with_many_workspaces_only_a_workspaces_first_request_waits_for_slack(slack, migrated_url):
    """With OAuth, Bolt checks each request's token with auth.test before acknowledging; the
    answer is remembered, so a slow Slack delays at most the first request per workspace."""
    from test_meet_harness import Harness, populate
    from test_oauth import install, oauth_settings

    settings = oauth_settings(slack, migrated_url)
    install(settings, "T1", "xoxb-T1")
    populate(slack)
    h = Harness(slack, settings)
    try:
        h.command("help")  # the workspace's first request
        slack.latency = SLOW_SLACK
        took = []
        for _ in range(3):
            body, headers = signing.slash_command(
                SIGNING_SECRET, "status", user_id="U1", channel_id="C1",
                response_url=slack.new_response_url(),
            )  # fmt: skip
            seconds, response = acknowledged_in(h, body, headers)
            assert response.status == 200
            took.append(seconds)
        assert max(took) < ACK_WITHIN, took
    finally:
        slack.latency = 0
        h.close()
