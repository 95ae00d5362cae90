"""When Slack refuses one group: that group is marked failed with Slack's error code, the rest of
the round goes on, admins are told what to do; and crash recovery stays within the
conversations.history limits of an app distributed outside the Marketplace."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from conftest import app_env, run_cli
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from test_meet_harness import open_harness

from bot.common.config import ConfigError, load
from bot.domain.services import rounds, stats
from bot.domain.services.delivery import (
    DELIVERY_ATTEMPTS,
    OTHERS_GONE,
    WORKERS,
    error_code,
    is_transient,
)
from bot.domain.services.rounds import run_round
from bot.slack import round_messages
from bot.storage.db import session_scope
from bot.storage.models import Group, Program, Round, utcnow

BERLIN = ["U01", "U02", "U03", "U04", "U05", "U06", "UEXT", "U08"]  # four pairs


@pytest.fixture
def program(slack, settings) -> int:
    """Eight people in Berlin (four pairs) and one in Auckland, who can be paired with nobody."""
    for user in BERLIN:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_user("T1", "UFAR", tz="Pacific/Auckland")
    slack.add_channel("T1", "C1", "lunch", members=BERLIN + ["UFAR", "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1")
        session.add(program)
        session.flush()
        return program.id


def intros(slack) -> list:
    return [
        m for m in slack.messages()
        if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT
    ]


def groups_by_state(settings, round_id) -> dict[str, list[Group]]:
    out: dict[str, list[Group]] = {}
    with session_scope(settings.database_url) as session:
        for group in session.scalars(select(Group).where(Group.round_id == round_id)):
            out.setdefault(group.delivery, []).append(group)
    return out


def round_status(settings, round_id) -> str:
    with session_scope(settings.database_url) as session:
        return session.get(Round, round_id).status


def unmatched_told(slack) -> bool:
    dm = slack.conversation_id("T1", ["UFAR"])
    return any("No lunch group for you" in m.text for m in slack.messages(dm))


@pytest.mark.parametrize("code", ["user_not_visible", "invalid_user_combination"])
def test_someone_outside_the_workspace_fails_only_their_group_and_the_round_goes_on(
    slack, settings, program, code
):
    slack.refuse_dms("T1", "UEXT", error=code)
    report = run_round(settings, program)

    assert (report.groups, report.delivered, report.failed) == (4, 3, 1)
    assert report.status == "delivered"
    states = groups_by_state(settings, report.round_id)
    (failed,) = states["failed"]
    assert failed.error == code
    posted = {m.channel for m in intros(slack)}
    assert posted == {g.conversation_id for g in states["posted"]} and len(posted) == 3
    assert unmatched_told(slack)

    # Mid-round, the three delivered groups are asked whether they met; the failed one is not.
    sent = rounds.send_due_checkins(settings, utcnow() + dt.timedelta(days=4))
    assert sent == 3
    asked = {m.channel for m in slack.messages() if m.text == "Did you get to meet?"}
    assert asked == posted


def test_slack_trouble_is_retried_at_each_resume_and_given_up_after_the_last(
    slack, settings, program
):
    slack.refuse_dms("T1", "UEXT", error="service_unavailable")
    report = run_round(settings, program)
    assert (report.delivered, report.failed, report.status) == (3, 0, "delivering")
    assert unmatched_told(slack)  # the others are not kept waiting for one group
    for _attempt in range(2, DELIVERY_ATTEMPTS):
        again = run_round(settings, program)
        assert (again.round_id, again.status, again.failed) == (report.round_id, "delivering", 0)
    last = run_round(settings, program)
    assert (last.delivered, last.failed, last.status) == (3, 1, "delivered")
    (failed,) = groups_by_state(settings, report.round_id)["failed"]
    assert failed.error == "service_unavailable"
    assert len(intros(slack)) == 3
    dm = slack.conversation_id("T1", ["UFAR"])
    assert len(slack.messages(dm)) == 1  # told once, not at every resume


def test_a_group_that_slack_accepts_at_a_resume_is_delivered(slack, settings, program):
    slack.refuse_dms("T1", "UEXT", error="ratelimited")
    first = run_round(settings, program)
    assert first.status == "delivering"
    slack.refuse_dms("T1", "UEXT", error="")  # Slack is fine again
    second = run_round(settings, program)
    assert (second.delivered, second.failed, second.status) == (4, 0, "delivered")
    assert len(intros(slack)) == 4


def test_someone_slack_was_too_busy_to_tell_is_told_at_the_next_resume(slack, settings, program):
    slack.refuse_dms("T1", "UFAR", error="service_unavailable")
    first = run_round(settings, program)
    assert (first.delivered, first.status) == (4, "delivering")
    slack.refuse_dms("T1", "UFAR", error="")
    second = run_round(settings, program)
    assert second.status == "delivered" and unmatched_told(slack)
    assert len(intros(slack)) == 4


def test_a_refused_token_stops_delivery_and_after_the_last_attempt_says_reinstall(
    slack, settings, program
):
    from bot.domain.services.delivery import DeliveryStopped

    for user in ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"):  # eight groups in all
        slack.add_user("T1", user, tz="Europe/Berlin")
        slack.add_member("T1", "C1", user)
    slack.fail_next("conversations.open", error="invalid_auth", count=1000)
    for _attempt in range(1, DELIVERY_ATTEMPTS):
        slack.reset_calls()
        with pytest.raises(DeliveryStopped):
            run_round(settings, program)
        # It stops asking once Slack refuses the token: at most the groups already in flight.
        assert len(slack.calls("conversations.open")) <= WORKERS
    last = run_round(settings, program)
    assert (last.failed, last.status) == (8, "delivered")
    with session_scope(settings.database_url) as session:
        figures = stats.program_stats(session, session.get(Program, program))
    assert {f.error for f in figures.failures} == {"invalid_auth"}
    assert all("reinstall" in f.advice for f in figures.failures)


# -- what admins are told -----------------------------------------------------------------------


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def test_meet_now_says_which_groups_failed_and_which_wait_for_slack(harness, settings, program):
    harness.slack.refuse_dms("T1", "U01", error="user_not_visible")  # its group fails at once
    harness.slack.fail_next("chat.postMessage", error="service_unavailable")  # another waits
    harness.command("now", user="UADMIN", channel="C1")
    # the outcome comes privately: an ephemeral message, or a DM where that is refused
    dm = harness.slack.conversation_id("T1", ["UADMIN"])
    told = harness.slack.ephemerals("C1", user="UADMIN") + (
        harness.slack.messages(dm) if dm else []
    )
    text = "\n".join(m.text for m in told)
    assert "4 groups, 2 introduced, 1 could not be reached (`/meet stats` says why)" in text
    assert "1 to be tried again in a few minutes" in text


def test_meet_stats_names_the_error_and_what_to_do(harness, settings, program):
    harness.slack.refuse_dms("T1", "UEXT", error="user_not_visible")
    run_round(settings, program)
    text = harness.command("stats", user="UADMIN", channel="C1").text
    assert "`user_not_visible`" in text
    assert "can't DM someone outside this workspace" in text
    assert "<@UEXT>" in text  # which group: its people

    harness.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1", "tab": "home"})
    view = harness.slack.home_view("T1", "UADMIN")
    shown = " ".join(b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict))
    assert "not delivered (`user_not_visible`)" in shown
    assert "can't DM someone outside this workspace" in shown
    # Someone who is not an admin sees nothing of it.
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    mine = harness.slack.home_view("T1", "U1")
    assert "user_not_visible" not in str(mine)


def test_a_failed_group_is_dated_by_its_rounds_day_where_the_program_is(harness, settings,
                                                                      program):
    """A round at Monday lunch in Auckland runs on Sunday in UTC: its group that got no
    intro was listed to admins under Sunday, a day with no round."""
    from freezegun import freeze_time

    with session_scope(settings.database_url) as session:
        session.get(Program, program).timezone = "Pacific/Auckland"
    harness.slack.refuse_dms("T1", "UEXT", error="user_not_visible")
    slot = dt.datetime(2026, 1, 11, 23, 0, tzinfo=dt.UTC)  # Monday 12 January, 12:00 there
    with freeze_time(slot):
        run_round(settings, program, slot=slot)
    with freeze_time(slot + dt.timedelta(hours=1)):
        stats_text = harness.command("stats", user="UADMIN", channel="C1").text
        harness.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home"})
    view = harness.slack.home_view("T1", "UADMIN")
    shown = " ".join(b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict))
    for text in (stats_text, shown):
        assert "Monday 12 January 2026, <@U" in text and "<@UEXT>" in text
        assert "Sunday 11 January" not in text


def test_stats_command_lists_failed_groups(slack, settings, program, tmp_path):
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url, SLACK_RATE_SCALE="1000",
    )  # fmt: skip
    slack.refuse_dms("T1", "UEXT", error="invalid_user_combination")
    result = run_cli("round", "C1", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 groups, 3 delivered, 1 failed" in result.stdout
    out = run_cli("stats", env=env, cwd=tmp_path).stdout
    line = next(x for x in out.splitlines() if "not delivered 20" in x)
    assert "UEXT" in line and "invalid_user_combination" in line
    assert "can't DM someone outside this workspace" in line


def test_every_error_gets_a_sentence():
    for code in ("user_not_visible", "invalid_user_combination", "too_many_users", "not_authed",
                 "invalid_auth", "account_inactive", "token_revoked", "http_502", "whatever"):
        assert round_messages.failure_advice(code).endswith(".")
    for code in ("not_authed", "invalid_auth", "account_inactive", "token_revoked"):
        assert "reinstall" in round_messages.failure_advice(code)


# -- transient or final: Slack's real answers, through a client without retries ---------------


def bare_client(slack, timeout: float = 5) -> WebClient:
    return WebClient(token="xoxb-T1", base_url=slack.api_url, timeout=timeout, retry_handlers=[])


@pytest.mark.parametrize(
    "failure, code, transient",
    [
        (dict(status=429, retry_after=3), "ratelimited", True),
        (dict(status=503), "fatal_error", True),
        (dict(error="service_unavailable"), "service_unavailable", True),
        (dict(error="user_not_visible"), "user_not_visible", False),
        (dict(error="too_many_users"), "too_many_users", False),
        (dict(error="invalid_auth"), "invalid_auth", False),
    ],
)
def test_which_answers_are_worth_another_try(slack, failure, code, transient):
    slack.add_user("T1", "UA")
    slack.fail_next("conversations.open", **failure)
    with pytest.raises(SlackApiError) as caught:
        bare_client(slack).conversations_open(users="UA")
    assert (error_code(caught.value), is_transient(caught.value)) == (code, transient)


@pytest.mark.parametrize("status", [429, 502])
def test_a_429_or_5xx_page_that_is_not_json_is_transient(status):
    from slack_sdk.web.slack_response import SlackResponse

    page = SlackResponse(
        client=None, http_verb="POST", api_url="https://slack.com/api/conversations.open",
        req_args={}, data=f"<html>{status}</html>", headers={}, status_code=status,
    )  # fmt: skip
    error = SlackApiError("a proxy's error page", page)
    assert (error_code(error), is_transient(error)) == (f"http_{status}", True)


def test_timeouts_and_lost_connections_are_transient(slack):
    slack.add_user("T1", "UA")
    slack.slow_next("conversations.open", 2.0)
    with pytest.raises(OSError) as caught:
        bare_client(slack, timeout=0.5).conversations_open(users="UA")
    assert (error_code(caught.value), is_transient(caught.value)) == ("timeout", True)
    closed = WebClient(token="x", base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    with pytest.raises(Exception) as lost:
        closed.conversations_open(users="UA")
    assert error_code(lost.value) == "connection_error" and is_transient(lost.value)


# -- crash recovery within an unlisted app's limits --------------------------------------------


def test_recovery_finds_the_intro_fifteen_messages_at_a_time_one_call_a_minute(
    slack, settings, program
):
    report = run_round(settings, program)
    assert report.delivered == 4
    # A crash right after an intro reached Slack, before the app stored its ts; since then
    # the group has talked: the intro is no longer on the first page of 15.
    with session_scope(settings.database_url) as session:
        group = session.scalars(select(Group).where(Group.round_id == report.round_id)).first()
        conversation, ts, group_id = group.conversation_id, group.message_ts, group.id
        group.delivery, group.message_ts = "posting", None
        group.post_started_at = utcnow() - dt.timedelta(seconds=2)
        round_ = session.get(Round, report.round_id)
        round_.status, round_.delivery_attempts = "delivering", 1
    client = bare_client(slack)
    for i in range(20):
        client.chat_postMessage(channel=conversation, text=f"see you at noon? {i}")

    # Slack's limits for such an app at 60x speed: one call a second, 15 messages a page.
    slack.as_unlisted_app()
    slack.rate_limit_scale = 60
    slack.reset_calls()
    unlisted = dataclasses.replace(
        settings, slack_app_distribution="unlisted", slack_rate_scale=60.0
    )
    resumed = run_round(unlisted, program)

    assert (resumed.delivered, resumed.status) == (4, "delivered")
    with session_scope(settings.database_url) as session:
        group = session.get(Group, group_id)
        assert (group.delivery, group.message_ts) == ("posted", ts)
    assert len(intros(slack)) == 4  # found, not sent again
    history = slack.calls("conversations.history")
    assert len(history) == 2 and all(c.ok for c in history)
    assert all(int(c.args["limit"]) <= 15 for c in history)
    assert history[1].time - history[0].time >= 0.9  # paced, not refused with a 429


def test_an_internal_app_reads_history_in_bigger_pages(slack, settings, program):
    report = run_round(settings, program)
    with session_scope(settings.database_url) as session:
        group = session.scalars(select(Group).where(Group.round_id == report.round_id)).first()
        group.delivery, group.post_started_at = "posting", utcnow() - dt.timedelta(seconds=2)
        session.get(Round, report.round_id).status = "delivering"
    slack.reset_calls()
    assert run_round(settings, program).delivered == 4
    (call,) = slack.calls("conversations.history")
    assert int(call.args["limit"]) == 50


def test_the_double_refuses_big_pages_from_an_unlisted_app(slack):
    for user in ("UA", "UB"):
        slack.add_user("T1", user)
    dm = bare_client(slack).conversations_open(users="UA,UB")["channel"]["id"]
    slack.as_unlisted_app()
    slack.rate_limit_scale = 600  # one call every 0.1 s instead of every minute
    time.sleep(0.15)
    with pytest.raises(SlackApiError) as caught:
        bare_client(slack).conversations_history(channel=dm, limit=50)
    assert caught.value.response["error"] == "invalid_limit"
    time.sleep(0.15)
    bare_client(slack).conversations_history(channel=dm, limit=15)
    with pytest.raises(SlackApiError) as limited:
        bare_client(slack).conversations_history(channel=dm, limit=15)
    assert limited.value.response.status_code == 429


# -- the setting ----------------------------------------------------------------------------------


def test_app_distribution_defaults_to_internal_for_one_token_and_unlisted_for_oauth():
    base = {"SLACK_SIGNING_SECRET": "s"}
    assert load({**base, "SLACK_BOT_TOKEN": "xoxb-1"}).app_distribution == "internal"
    oauth = {**base, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}
    assert load(oauth).app_distribution == "unlisted"
    chosen = load({**oauth, "SLACK_APP_DISTRIBUTION": "Marketplace"})
    assert chosen.app_distribution == "marketplace"
    with pytest.raises(ConfigError, match="SLACK_APP_DISTRIBUTION is 'public': use one of"):
        load({**base, "SLACK_APP_DISTRIBUTION": "public"})


# -- people who stop taking part while Slack holds the delivery up ---------------------------------


def _stops_taking_part(harness, how: str, user: str) -> None:
    """`user` stops taking part as a person in Slack would."""
    if how == "leave":
        assert "no more lunch groups" in harness.command("leave", user=user, channel="C1").text
    elif how == "pause":
        harness.command("pause 2 weeks", user=user, channel="C1")
    elif how == "left the channel":
        harness.slack.remove_member("T1", "C1", user)
        harness.event({"type": "member_left_channel", "user": user, "channel": "C1",
                       "channel_type": "C", "team": "T1"})  # fmt: skip
    else:  # deactivated: left the company
        harness.slack.update_user("T1", user, deleted=True)
        harness.event({"type": "user_change", "user": {"id": user, "team_id": "T1",
                                                       "deleted": True}})  # fmt: skip


def _partner_of(settings, round_id: int, user: str) -> str:
    with session_scope(settings.database_url) as session:
        for group in session.scalars(select(Group).where(Group.round_id == round_id)):
            ids = [m.user_id for m in group.members]
            if user in ids:
                (partner,) = set(ids) - {user}
                return partner
    raise AssertionError(f"{user} is in no group")


@pytest.mark.parametrize(
    "how, busy",
    [("leave", "conversations.open"), ("pause", "conversations.open"),
     ("left the channel", "conversations.open"), ("deactivated", "conversations.open"),
     ("leave", "chat.postMessage")],
)  # fmt: skip
def test_someone_who_stops_taking_part_before_their_intro_is_not_introduced(
    harness, settings, program, how, busy
):
    # Slack too busy to open any group DM, or to post in the DMs it opened
    if busy == "conversations.open":
        for user in BERLIN:
            harness.slack.refuse_dms("T1", user, error="service_unavailable")
    else:
        harness.slack.fail_next("chat.postMessage", error="service_unavailable", count=4)
    first = run_round(settings, program)
    assert (first.delivered, first.status) == (0, "delivering")
    partner = _partner_of(settings, first.round_id, "U01")

    _stops_taking_part(harness, how, "U01")
    for user in BERLIN:
        harness.slack.refuse_dms("T1", user, error="")
    again = run_round(settings, program)

    assert (again.round_id, again.status, again.failed) == (first.round_id, "delivered", 0)
    assert again.delivered == again.groups == 3  # the other three pairs, as planned
    introduced = [harness.slack.dm_members("T1", m.channel) for m in intros(harness.slack)]
    assert len(introduced) == 3 and not any("U01" in people for people in introduced)
    assert not any(partner in people for people in introduced)
    # the partner hears why there is no lunch this round, and goes first next round
    told = harness.slack.messages(harness.slack.conversation_id("T1", [partner]))
    assert [m.text for m in told] == [round_messages.unmatched("C1", OTHERS_GONE)]
    with session_scope(settings.database_url) as session:
        held = {u.user_id for u in session.get(Round, first.round_id).unmatched}
    assert held == {"UFAR", partner}
    # the history keeps no meeting that never happened, and they are not grouped next week
    with session_scope(settings.database_url) as session:
        groups = [{m.user_id for m in g.members} for g in session.scalars(select(Group))]
    assert not any("U01" in people for people in groups)
    next_round = run_round(settings, program, utcnow() + dt.timedelta(days=7))
    assert next_round.status == "delivered"
    with session_scope(settings.database_url) as session:
        grouped = {m.user_id for g in session.get(Round, next_round.round_id).groups
                   for m in g.members}  # fmt: skip
    assert partner in grouped and "U01" not in grouped


def test_a_trio_that_loses_one_before_its_intro_is_introduced_as_a_pair(harness, settings):
    for user in ["U1", "U2", "U3"]:
        harness.slack.add_user("T1", user, tz="Europe/Berlin")
        harness.slack.refuse_dms("T1", user, error="service_unavailable")
    harness.slack.add_channel("T1", "C1", "lunch", members=["U1", "U2", "U3", "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1")
        session.add(program)
        session.flush()
        program_id = program.id
    first = run_round(settings, program_id)
    with session_scope(settings.database_url) as session:
        (group,) = session.scalars(select(Group).where(Group.round_id == first.round_id))
        organiser = group.organiser_id
    # the organiser leaves: the two others get an intro of their own, naming one of them
    _stops_taking_part(harness, "leave", organiser)
    for user in ["U1", "U2", "U3"]:
        harness.slack.refuse_dms("T1", user, error="")
    again = run_round(settings, program_id)
    assert (again.delivered, again.status) == (1, "delivered")
    (intro,) = intros(harness.slack)
    staying = sorted({"U1", "U2", "U3"} - {organiser})
    assert harness.slack.dm_members("T1", intro.channel) == staying
    assert f"<@{organiser}>" not in intro.text + str(intro.blocks)
    with session_scope(settings.database_url) as session:
        (group,) = session.scalars(select(Group).where(Group.round_id == first.round_id))
        assert group.organiser_id in staying
        assert sorted(m.user_id for m in group.members) == staying


def test_a_post_refused_after_one_whose_fate_is_unknown_is_looked_for_before_posting_again(
    slack, settings
):
    """A first post that failed on Slack's side (5xx) may still land; the retry being refused
    says nothing of it, so the next resume looks in the DM before it posts again."""
    for user in ("U1", "U2"):
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_channel("T1", "C1", "lunch", members=["U1", "U2", "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1")
        session.add(program)
        session.flush()
        program_id = program.id
    slack.fail_next("chat.postMessage", status=500)
    slack.fail_next("chat.postMessage", error="ratelimited")
    first = run_round(settings, program_id)
    assert (first.delivered, first.status) == (0, "delivering")
    (group,) = groups_by_state(settings, first.round_id)["posting"]
    calls = len(slack.calls())
    second = run_round(settings, program_id)
    assert (second.delivered, second.status) == (1, "delivered")
    methods = [c.method for c in slack.calls()[calls:]]
    assert "conversations.history" in methods
    assert methods.index("conversations.history") < methods.index("chat.postMessage")
    assert len(intros(slack)) == 1
