"""A whole round against the Slack test double: who takes part, groups, intros, check-ins,
closing and stats — what people in Slack would see."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter

import pytest
from conftest import IDLE_CUT, idle_cut, wait_for
from freezegun import freeze_time
from sqlalchemy import select

from bot.domain.services import rounds, stats
from bot.domain.services.rounds import answer_nudge, record_checkin, run_round
from bot.slack import round_messages
from bot.storage.db import session_scope
from bot.storage.models import Group, Member, Participation, Program, Round, Workspace

HUMANS = [f"U{i:02d}" for i in range(1, 12)]  # 11 people: four pairs and one trio


def make_program(settings, channel="C1", **options) -> int:
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id=channel, **options)
        session.add(program)
        session.flush()
        return program.id


@pytest.fixture
def channel(slack, settings):
    """A program channel with people who take part and people who must not."""
    for i, user in enumerate(HUMANS):
        slack.add_user("T1", user, real_name=f"Person {i}", tz="Europe/Berlin")
    slack.add_user("T1", "UROBOT", is_bot=True)
    slack.add_user("T1", "UGONE", deleted=True)
    slack.add_user("T1", "UGUEST", is_restricted=True)
    slack.add_user("T1", "USINGLE", is_ultra_restricted=True)
    slack.add_user("T1", "ULEFT")
    slack.add_user("T1", "UPAUSED")
    members = HUMANS + ["UBOT", "USLACKBOT", "UROBOT", "UGONE", "UGUEST", "USINGLE", "ULEFT",
                        "UPAUSED"]
    slack.add_channel("T1", "C1", "lunch", members=members)
    slack.max_page_size = 4  # membership comes in several pages
    program_id = make_program(settings)
    with session_scope(settings.database_url) as session:
        session.add(Participation(program_id=program_id, user_id="ULEFT", opted_out=True))
        session.add(
            Member(team_id="T1", user_id="UPAUSED", values={}, sources={},
                   paused_until=dt.date.today() + dt.timedelta(days=14))
        )
    return program_id


def intros(slack):
    return [
        m for m in slack.messages()
        if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT
    ]


def planned_groups(settings, round_id) -> list[list[str]]:
    with session_scope(settings.database_url) as session:
        round_ = session.get(Round, round_id)
        return [sorted(m.user_id for m in g.members) for g in round_.groups]


def test_a_round_places_everyone_eligible_once_and_introduces_each_group_once(
    slack, settings, channel
):
    report = run_round(settings, channel)

    groups = planned_groups(settings, report.round_id)
    placed = [u for g in groups for u in g]
    assert sorted(placed) == sorted(HUMANS)  # everyone once, nobody excluded got in
    assert sorted(len(g) for g in groups) == [2, 2, 2, 2, 3]
    assert report.delivered == 5 and report.failed == 0 and report.status == "delivered"

    posted = intros(slack)
    assert len(posted) == 5
    by_conversation = {m.channel: m for m in posted}
    assert len(by_conversation) == 5  # one intro in each group DM
    for group in groups:
        conversation = slack.conversation_id("T1", group)
        message = by_conversation[conversation]
        mentioned = set(re.findall(r"<@(U\w+)>", message.text))
        assert mentioned == set(group)
        body = " ".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
        organiser = re.search(r"<@(U\w+)> is organising", body).group(1)
        assert organiser in group
        assert "To get you started:" in body
        buttons = [e["action_id"] for b in message.blocks if b["type"] == "actions"
                   for e in b["elements"]]
        assert round_messages.CHECKIN_MET in buttons
    with session_scope(settings.database_url) as session:
        stored = set(session.scalars(select(Member.user_id)))
    assert stored == set(HUMANS) | {"UPAUSED"}  # nothing kept about bots, guests, leavers
    # conversations.open was asked for exactly the group's people, nobody else
    opened = [sorted(c.args["users"].split(",")) for c in slack.calls("conversations.open")]
    assert sorted(opened) == sorted(groups)


def test_running_the_same_manual_round_twice_sends_nothing_new(slack, settings, channel):
    first = run_round(settings, channel)
    second = run_round(settings, channel)
    assert second.round_id == first.round_id and not second.created
    assert len(intros(slack)) == first.groups


def test_organisers_rotate_and_nobody_meets_the_same_person_twice(slack, settings, channel):
    seen_pairs: set[frozenset] = set()
    organised: Counter = Counter()
    for week in range(4):
        with freeze_time(dt.datetime(2026, 1, 5, 12) + dt.timedelta(weeks=week)):
            report = run_round(settings, channel, slot=rounds.utcnow())
        with session_scope(settings.database_url) as session:
            for group in session.get(Round, report.round_id).groups:
                ids = [m.user_id for m in group.members]
                pairs = {frozenset((a, b)) for a in ids for b in ids if a < b}
                assert not pairs & seen_pairs
                seen_pairs |= pairs
                # the organiser is someone in the group who has organised least so far
                assert organised[group.organiser_id] == min(organised[u] for u in ids)
                organised[group.organiser_id] += 1
    assert len(organised) >= 10  # 20 groups: the job went round, not to a few people


def test_slack_throttling_and_server_errors_delay_but_never_drop_or_double(
    slack, settings, channel
):
    slack.fail_next("conversations.open", status=429, retry_after=1)
    slack.fail_next("chat.postMessage", status=500)
    report = run_round(settings, channel)
    assert report.delivered == report.groups == 5
    assert len(intros(slack)) == 5
    assert len({m.channel for m in intros(slack)}) == 5


def test_someone_deactivated_between_plan_and_delivery_fails_only_their_group(
    slack, settings, channel
):
    slack.fail_next("conversations.open", error="user_disabled")
    report = run_round(settings, channel)
    assert report.failed == 1 and report.delivered == 4
    with session_scope(settings.database_url) as session:
        failed = session.scalars(select(Group).where(Group.delivery == "failed")).all()
        assert [g.error for g in failed] == ["user_disabled"]
        apart = [m.user_id for m in failed[0].members]
        figures = stats.program_stats(session, session.get(Program, channel))
    assert figures.groups_failed == 1
    # the others are told, and go first next round, instead of hearing nothing
    for user in apart:
        (told,) = slack.messages(slack.conversation_id("T1", [user]))
        assert told.text.startswith("No lunch group for you this round in <#C1>: Slack would "
                                    "not introduce your group")  # fmt: skip
        assert "first in line next round" in told.text


def test_someone_slack_will_not_show_any_more_is_left_out_not_the_round(slack, settings, channel):
    """Slack answers users.info with user_not_visible for someone of another organisation
    whose shared channel was disconnected: the whole round failed, at every retry."""
    slack.update_user("T1", HUMANS[0], visible=False)
    report = run_round(settings, channel)
    assert report.delivered == 5 and report.failed == 0  # ten people: five pairs
    placed = {user for group in planned_groups(settings, report.round_id) for user in group}
    assert placed == set(HUMANS[1:])


def test_people_who_cannot_be_placed_are_told_why(slack, settings):
    for user, tz in [("UA", "Europe/Berlin"), ("UB", "Europe/Paris"), ("UC", "Pacific/Auckland")]:
        slack.add_user("T1", user, tz=tz)
    slack.add_channel("T1", "C2", "lunch-2", members=["UA", "UB", "UC", "UBOT"])
    program_id = make_program(settings, channel="C2")
    report = run_round(settings, program_id)
    assert report.groups == 1 and report.unmatched == 1
    dms = [m for m in slack.messages() if m.channel == slack.conversation_id("T1", ["UC"])]
    assert len(dms) == 1
    assert "No lunch group for you this round" in dms[0].text
    assert "first in line" in dms[0].text


def test_check_in_answers_are_stored_latest_wins_and_counted_in_stats(slack, settings, channel):
    with freeze_time("2026-03-02 12:00:00"):
        report = run_round(settings, channel, slot=rounds.utcnow())
    with freeze_time("2026-03-04 12:00:00"):
        assert rounds.send_due_checkins(settings, rounds.utcnow()) == 0  # too early
    with freeze_time("2026-03-05 12:01:00"):
        assert rounds.send_due_checkins(settings, rounds.utcnow()) == 5
        assert rounds.send_due_checkins(settings, rounds.utcnow()) == 0  # once only
    checkins = [m for m in slack.messages() if m.text == "Did you get to meet?"]
    assert len(checkins) == 5
    groups = planned_groups(settings, report.round_id)
    with session_scope(settings.database_url) as session:
        ids = [g.id for g in session.get(Round, report.round_id).groups]
    first, second = groups[0], groups[1]
    assert record_checkin(settings, "T1", ids[0], first[0], "not_yet")
    assert record_checkin(settings, "T1", ids[0], first[1], "met")
    assert record_checkin(settings, "T1", ids[1], second[0], "couldnt")
    # someone outside the group, or another workspace, cannot answer for it
    assert not record_checkin(settings, "T1", ids[2], first[0], "met")
    assert not record_checkin(settings, "T2", ids[2], groups[2][0], "met")
    with session_scope(settings.database_url) as session:
        stored = [(g.outcome, g.outcome_by, g.responders) for g in
                  (session.get(Group, i) for i in ids[:3])]
    assert stored == [  # the latest answer wins; everyone who answered is remembered
        ("met", first[1], [first[0], first[1]]),
        ("couldnt", second[0], [second[0]]),
        (None, None, []),
    ]
    with session_scope(settings.database_url) as session:
        figures = stats.program_stats(session, session.get(Program, channel))
    assert (figures.rounds, figures.people_paired, figures.groups, figures.groups_met) == (
        1, 11, 5, 1,
    )
    assert figures.meet_rate == pytest.approx(1 / 5)


def test_three_silent_rounds_bring_one_nudge_and_the_answer_is_acted_on(
    slack, settings, channel
):
    start = dt.datetime(2026, 4, 6, 12, tzinfo=dt.UTC)
    for week in range(4):  # each new round closes the one before
        with freeze_time(start + dt.timedelta(weeks=week)):
            run_round(settings, channel, slot=rounds.utcnow())
    nudges = [m for m in slack.messages() if "haven't heard from you" in m.text]
    assert sorted(m.channel for m in nudges) == sorted(
        slack.conversation_id("T1", [u]) for u in HUMANS
    )
    with freeze_time(start + dt.timedelta(weeks=4, days=1)):
        rounds.close_due_rounds(settings, rounds.utcnow())
    assert len([m for m in slack.messages() if "haven't heard from you" in m.text]) == 11
    # U01 clicks "Take me out" on the nudge; U02 keeps going
    from conftest import SIGNING_SECRET

    from bot.edge.app import build_app
    from bot.sandbox.signing import block_action, bolt_request

    dm = slack.conversation_id("T1", ["U01"])
    (nudge,) = [m for m in slack.messages(dm) if "haven't heard from you" in m.text]
    body, headers = block_action(
        SIGNING_SECRET, round_messages.NUDGE_LEAVE, str(channel), user_id="U01", team_id="T1",
        channel_id=dm, message_ts=nudge.ts,
    )
    assert build_app(settings).dispatch(bolt_request(body, headers)).status == 200
    wait_for(lambda: "no more lunch groups" in slack.messages(dm)[-1].text)
    assert answer_nudge(settings, "T1", channel, "U02", stay=True) == "C1"
    assert answer_nudge(settings, "T2", channel, "U03", stay=False) is None  # other workspace
    with freeze_time(start + dt.timedelta(weeks=5)):
        report = run_round(settings, channel, slot=rounds.utcnow())
    placed = {u for g in planned_groups(settings, report.round_id) for u in g}
    assert "U01" not in placed and "U02" in placed


def test_round_summary_goes_to_the_channel_only_when_enabled_and_names_nobody(slack, settings):
    for user in HUMANS[:4]:
        slack.add_user("T1", user)
    slack.add_channel("T1", "C3", "lunch-3", members=HUMANS[:4] + ["UBOT"])
    program_id = make_program(settings, channel="C3", post_summary=True)
    with freeze_time("2026-05-04 12:00:00"):
        run_round(settings, program_id, slot=rounds.utcnow())
    with freeze_time("2026-05-11 12:00:01"):
        assert rounds.close_due_rounds(settings, rounds.utcnow()) == 1
    summaries = slack.messages("C3")
    assert len(summaries) == 1
    assert "2 lunch groups formed" in summaries[0].text
    assert "<@" not in summaries[0].text



def test_check_in_buttons_record_the_answer_and_acknowledge_in_place(slack, settings, channel):
    from conftest import SIGNING_SECRET

    from bot.edge.app import build_app
    from bot.sandbox.signing import block_action, bolt_request

    with freeze_time("2026-03-02 12:00:00"):
        report = run_round(settings, channel, slot=rounds.utcnow())
    with freeze_time("2026-03-05 12:01:00"):
        rounds.send_due_checkins(settings, rounds.utcnow())
    with session_scope(settings.database_url) as session:
        group = session.get(Round, report.round_id).groups[0]
        group_id, conversation = group.id, group.conversation_id
        member = group.members[0].user_id
    (question,) = [m for m in slack.messages(conversation) if m.text == "Did you get to meet?"]
    app = build_app(settings)

    def click(action_id, user):
        body, headers = block_action(
            SIGNING_SECRET, action_id, str(group_id), user_id=user, team_id="T1",
            channel_id=conversation, message_ts=question.ts,
            message={"ts": question.ts, "text": question.text, "blocks": question.blocks},
        )
        assert app.dispatch(bolt_request(body, headers)).status == 200

    click(round_messages.CHECKIN_NOT_YET, member)
    wait_for(lambda: len(slack.calls("chat.update")) == 1)
    click(round_messages.CHECKIN_MET, member)
    wait_for(lambda: len(slack.calls("chat.update")) == 2)
    (updated,) = [m for m in slack.messages(conversation) if m.ts == question.ts]
    assert f"<@{member}> says you met" in updated.text
    # the check-in buttons are replaced by the answer; after a lunch, what comes after it
    actions = [b for b in updated.blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == [f"after-{group_id}"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        round_messages.SAY_THANKS, round_messages.KEEP_IN_TOUCH
    ]
    response_url = slack.new_response_url()
    body, headers = block_action(
        SIGNING_SECRET, round_messages.CHECKIN_COULDNT, str(group_id), user_id="UGUEST",
        team_id="T1", channel_id=conversation, message_ts=question.ts,
        response_url=response_url,
    )
    assert app.dispatch(bolt_request(body, headers)).status == 200  # someone outside the group
    wait_for(lambda: slack.responses(response_url))
    assert "isn't yours" in slack.responses(response_url)[0]["text"]
    with session_scope(settings.database_url) as session:
        assert session.get(Group, group_id).outcome == "met"


@pytest.mark.postgres
def test_a_round_keeps_no_transaction_open_while_slack_answers(slack, settings, channel):
    """PostgreSQL ends a session left idle inside a transaction once its
    idle_in_transaction_session_timeout passes (managed databases set one); a round that
    waited for Slack inside a transaction failed there. Slack answers here after that
    timeout."""
    assert settings.database_url.startswith("postgresql")
    strict = dataclasses.replace(settings, database_url=idle_cut(settings.database_url))
    slack.slow_next("conversations.members", IDLE_CUT + 0.5)
    report = run_round(strict, channel)
    assert report.status == "delivered" and report.delivered == 5 and report.failed == 0
    assert len(intros(slack)) == 5


@pytest.mark.postgres
def test_a_round_reading_profile_fields_keeps_no_transaction_open_while_slack_answers(
    slack, settings
):
    """Where an admin mapped a profile field (the level, say), a round reads everyone's
    profile; it did so inside the transaction that had read who is stored, and PostgreSQL
    ended the session once idle_in_transaction_session_timeout passed: the round failed.
    Slack answers here after that timeout."""
    assert settings.database_url.startswith("postgresql")
    strict = dataclasses.replace(settings, database_url=idle_cut(settings.database_url))
    slack.set_profile_fields("T1", [{"id": "Xf1", "label": "Grade"}])
    people = ["U01", "U02"]
    for user in people:
        slack.add_user("T1", user, profile_fields={"Xf1": "L6"})
    slack.add_channel("T1", "C1", "lunch", members=[*people, "UBOT"])
    program_id = make_program(settings)
    with session_scope(settings.database_url) as session:
        session.add(Workspace(team_id="T1", level_field="Grade"))
    slack.slow_next("users.profile.get", IDLE_CUT + 0.5)
    report = run_round(strict, program_id)
    assert report.status == "delivered" and report.delivered == 1 and report.failed == 0
    assert len(intros(slack)) == 1
    with session_scope(settings.database_url) as session:
        levels = {m.user_id: (m.level, m.sources.get("level")) for m in session.scalars(
            select(Member))}  # fmt: skip
    assert levels == {user: (6, "profile") for user in people}
