"""Slack events: welcome once, leaving, deactivated accounts, uninstalling, and each event id
processed once even when Slack retries it or two app processes receive it."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select
from test_meet_harness import Harness, make_program, open_harness

from bot.domain.services import dedup, rounds
from bot.edge import home
from bot.storage.models import Member, Participation, ProcessedEvent, Program, Workspace


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def joined(user: str, channel: str = "C1") -> dict:
    return {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": "T1",
    }


def dms_to(h, user: str) -> list:
    channel = h.slack.conversation_id("T1", [user])
    return h.slack.messages(channel) if channel else []


def test_joining_a_program_channel_gets_one_welcome(harness):
    program_id = make_program(harness.settings, "C1")
    harness.event(joined("U5"))
    welcome = dms_to(harness, "U5")
    assert len(welcome) == 1
    assert "Welcome to <#C1>" in welcome[0].text and "`/meet leave` in <#C1>" in welcome[0].text
    with harness.session() as session:
        choice = session.scalar(select(Participation).where(Participation.user_id == "U5"))
        assert choice.program_id == program_id and choice.welcomed_at is not None

    harness.event(joined("U5"))  # left and came back: a new event, no second welcome
    assert len(dms_to(harness, "U5")) == 1


def test_someone_who_opted_out_is_told_how_to_come_back(harness):
    make_program(harness.settings, "C1")
    harness.command("leave", user="U5", channel="C1")
    harness.event(joined("U5"))
    assert "You opted out earlier; `/meet join`" in dms_to(harness, "U5")[0].text


@pytest.mark.parametrize(
    "user, channel, why",
    [
        ("U5", "C2", "not a program channel"),
        ("UBOT", "C1", "the app itself"),
        ("UROBOT", "C1", "a bot"),
        ("UGUEST", "C1", "a guest where guests don't take part"),
    ],
)
def test_no_welcome(harness, user, channel, why):
    make_program(harness.settings, "C1")
    harness.event(joined(user, channel))
    assert harness.slack.calls("chat.postMessage") == [], why


def test_no_welcome_in_a_switched_off_program_but_guests_when_allowed(harness):
    make_program(harness.settings, "C1", enabled=False)
    make_program(harness.settings, "C2", allow_guests=True)
    harness.event(joined("U5", "C1"))
    assert harness.slack.calls("chat.postMessage") == []
    harness.event(joined("UGUEST", "C2"))
    assert len(dms_to(harness, "UGUEST")) == 1


def test_a_welcome_that_cannot_be_sent_is_tried_again_next_time(harness):
    make_program(harness.settings, "C1")
    harness.allow_errors = True
    harness.slack.fail_next("chat.postMessage", error="cannot_dm_bot")
    harness.event(joined("U5"))
    assert dms_to(harness, "U5") == []
    harness.event(joined("U5"))
    assert len(dms_to(harness, "U5")) == 1


def test_leaving_the_channel_stops_pairing_there(harness):
    make_program(harness.settings, "C1")
    harness.slack.remove_member("T1", "C1", "U1")
    status, _ = harness.event(
        {
            "type": "member_left_channel",
            "user": "U1",
            "channel": "C1",
            "channel_type": "C",
            "team": "T1",
        }
    )
    assert status == 200
    assert "<#C1>" not in harness.command("status", user="U1", channel="D1").text


def test_a_deleted_account_is_never_paired_again_and_a_restored_one_may_be(harness):
    harness.slack.update_user("T1", "U2", deleted=True)
    harness.event({"type": "user_change", "user": {"id": "U2", "team_id": "T1", "deleted": True}})
    with harness.session() as session:
        assert session.scalar(select(Member.deactivated).where(Member.user_id == "U2")) is True
    harness.event({"type": "user_change", "user": {"id": "U2", "team_id": "T1", "deleted": False}})
    with harness.session() as session:
        assert session.scalar(select(Member.deactivated).where(Member.user_id == "U2")) is False
    # an ordinary profile change of someone unknown stores nothing
    harness.event({"type": "user_change", "user": {"id": "U4", "team_id": "T1", "deleted": False}})
    with harness.session() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U4")) is None


def test_uninstalling_stops_all_work_for_the_workspace(harness):
    program_id = make_program(harness.settings, "C1")
    harness.event({"type": "app_uninstalled"})
    with harness.session() as session:
        workspace = session.get(Workspace, "T1")
        assert not workspace.active and workspace.uninstalled_at is not None
        assert session.get(Program, program_id) is not None  # kept, in case they come back
    with pytest.raises(rounds.NoProgram):
        rounds.run_round(harness.settings, program_id)
    # a command proves it is installed again
    harness.command("status", user="U1")
    with harness.session() as session:
        assert session.get(Workspace, "T1").active


def test_whatever_slack_sends_after_a_reinstall_wakes_the_workspace(harness):
    """With one bot token nothing says the app was installed again; anything Slack sends
    from the workspace does (only a /meet command did: the Home tab showed the next round
    and no round ran). A retry of an event from before the uninstall does not."""
    program_id = make_program(harness.settings, "C1")
    harness.event({"type": "app_uninstalled"})
    with harness.session() as session:
        uninstalled = session.get(Workspace, "T1").uninstalled_at
    before = int(uninstalled.timestamp()) - 60
    harness.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_time=before,
                  retry_num=1)  # fmt: skip
    with harness.session() as session:
        assert not session.get(Workspace, "T1").active
    harness.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home"},
                  event_time=int(uninstalled.timestamp()) + 1)  # fmt: skip
    with harness.session() as session:
        assert session.get(Workspace, "T1").active
    assert rounds.run_round(harness.settings, program_id).groups  # the round runs again

    harness.event({"type": "app_uninstalled"})
    harness.click(home.RUN_NOW, str(program_id), user="UADMIN", from_home=True)
    assert "switched off" not in json.dumps(harness.slack.home_view("T1", "UADMIN"))
    with harness.session() as session:
        assert session.get(Workspace, "T1").active


@pytest.mark.parametrize(
    "tokens, stops",
    [({"bot": ["UBOT"]}, True), ({"oauth": ["U1"]}, False)],
)
def test_tokens_revoked(harness, tokens, stops):
    harness.event({"type": "tokens_revoked", "tokens": tokens})
    with harness.session() as session:
        workspace = session.get(Workspace, "T1")
    assert (workspace is not None and not workspace.active) == stops


# -- each event once ------------------------------------------------------------------------------


def test_a_retried_event_is_processed_once(harness):
    make_program(harness.settings, "C1")
    for retry in (None, 1, 2):
        status, _ = harness.event(joined("U5"), event_id="Ev0001", retry_num=retry)
        assert status == 200
    assert len(dms_to(harness, "U5")) == 1
    # without the de-duplication, a retry would be processed again: prove the welcome is
    # only skipped because of the event id (a new id for a new person works)
    harness.event(joined("U6"), event_id="Ev0002")
    assert len(dms_to(harness, "U6")) == 1
    with harness.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 2


def test_a_retried_home_opened_event_publishes_the_home_tab_once(harness):
    """Opening Home twice publishes twice; Slack's retry of one opening must not."""
    for retry in (None, 1):
        harness.event({"type": "app_home_opened", "user": "U1", "tab": "home"},
                      event_id="EvHome1", retry_num=retry)
    assert len(harness.slack.calls("views.publish")) == 1
    harness.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="EvHome2")
    assert len(harness.slack.calls("views.publish")) == 2


def test_the_same_event_in_two_app_processes_at_once_is_processed_once(harness, slack, settings):
    """Two app instances on one database (as two workers would be) receive the same event."""
    make_program(settings, "C1")
    other = Harness(slack, settings)
    try:
        apps = [harness, other] * 4
        barrier = threading.Barrier(len(apps))

        def deliver(h):
            barrier.wait()
            h.event(
                {"type": "user_change", "user": {"id": "U2", "deleted": True}}, event_id="EvSame"
            )
            h.event(joined("U5"), event_id="EvJoin")

        threads = [threading.Thread(target=deliver, args=(h,)) for h in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(dms_to(harness, "U5")) == 1
        with harness.session() as session:
            assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 2
    finally:
        other.close()


def test_old_event_ids_are_pruned(harness):
    import datetime as dt

    from bot.storage.models import utcnow

    assert dedup.first_time(harness.settings.database_url, "EvOld", "T1")
    assert not dedup.first_time(harness.settings.database_url, "EvOld", "T1")
    assert dedup.prune(harness.settings.database_url, utcnow() + dt.timedelta(days=2)) == 1
    assert dedup.first_time(harness.settings.database_url, "EvOld", "T1")


def test_old_ids_are_pruned_as_events_come_in(harness, monkeypatch):
    import datetime as dt

    from bot.storage.models import utcnow

    url = harness.settings.database_url
    with harness.session() as session:
        session.add(
            ProcessedEvent(event_id="EvAncient", received_at=utcnow() - dt.timedelta(days=3))
        )
    monkeypatch.setattr(dedup, "PRUNE_EVERY", 2)
    for i in range(2):
        dedup.first_time(url, f"EvNew{i}", "T1")
    with harness.session() as session:
        ids = set(session.scalars(select(ProcessedEvent.event_id)))
    assert "EvAncient" not in ids and {"EvNew0", "EvNew1"} <= ids
