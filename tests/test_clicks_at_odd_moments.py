"""Buttons pressed at odd moments: twice, by two people at once (threads through Bolt, on
SQLite and PostgreSQL), or after what they belong to has changed."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from test_exactly_once import PEOPLE, together
from test_lunches import START, date_buttons, run
from test_meet_harness import Harness, make_program, open_harness

from bot.domain.services import lunches, rounds
from bot.edge import home
from bot.slack import round_messages, texts
from bot.storage.db import session_scope
from bot.storage.models import Group, Program


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def twenty_pairs(slack, settings):
    """20 pairs in #lunch, introduced on Monday 1 June."""
    for user in PEOPLE:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_channel("T1", "C1", "lunch", members=[*PEOPLE, "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1", timezone="Europe/Berlin",
                          next_run_at=START + dt.timedelta(days=365))
        session.add(program)
        session.flush()
        program_id = program.id
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=START)
    with session_scope(settings.database_url) as session:
        return [(g.id, g.conversation_id, g.organiser_id, [m.user_id for m in g.members])
                for g in session.scalars(select(Group).order_by(Group.id))]


@pytest.fixture
def quiet_harness(slack, settings):
    h = Harness(slack, settings)
    h.allow_errors = True
    try:
        yield h
    finally:
        h.close()


def everyone_pressing(harness, pairs, action_id: str) -> list:
    """A click of `action_id` by each member of each group, to be run at once."""
    return [
        (lambda g=group_id, u=user, c=conv: harness.click(action_id, str(g), user=u, channel=c))
        for group_id, conv, _, members in pairs for user in members
    ]  # fmt: skip


# 1 -----------------------------------------------------------------------------------------


def test_both_members_pressing_keep_in_touch_at_once_start_the_reminders(
    slack, settings, twenty_pairs, quiet_harness
):
    """Both members of each pair press "Let's keep in touch" at the same moment."""
    for group_id, _, _, members in twenty_pairs:
        assert rounds.record_checkin(settings, "T1", group_id, members[0], "met")
    together(*everyone_pressing(quiet_harness, twenty_pairs, round_messages.KEEP_IN_TOUCH))
    quiet_harness.executor.drain()
    with session_scope(settings.database_url) as session:
        never = [g.id for g in session.scalars(select(Group)) if g.touch_next_at is None]
    told = []
    for group_id, conv, _, members in twenty_pairs:  # pressing again does not help either
        if group_id in never:
            told += quiet_harness.click(round_messages.KEEP_IN_TOUCH, str(group_id),
                                        user=members[0], channel=conv).texts
    with session_scope(settings.database_url) as session:
        never = [g.id for g in session.scalars(select(Group)) if g.touch_next_at is None]
    formed = [m for m in slack.messages() if "You all want to keep in touch" in m.text]
    assert never == [], (f"{len(never)} of 20 groups never start keeping in touch", told[:1])
    assert len(formed) == 20


# 2 -----------------------------------------------------------------------------------------


def test_a_date_button_of_a_round_closed_by_the_next_one_does_not_set_a_lunch(
    harness, slack, settings
):
    group_id, conversation, organiser, _ = run(harness, slack, settings)
    thursday = date_buttons(slack, conversation)[-1]
    with harness.session() as session:
        program_id = session.get(Group, group_id).round.program_id
    # Monday afternoon an admin runs a round now (/meet now): the Monday round closes.
    with freeze_time(START + dt.timedelta(hours=3)):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        assert session.get(Group, group_id).round.closed_at is not None
    before = len(slack.messages(conversation))
    with freeze_time(START + dt.timedelta(hours=4), tick=True):
        reschedule = harness.click(round_messages.LUNCH_RESCHEDULE, str(group_id),
                                   user=organiser, channel=conversation)
        assert "This round is over" in reschedule.texts[0]
        click = harness.click(thursday["action_id"], thursday["value"], user=organiser,
                              channel=conversation)
    posted = [m.text for m in slack.messages(conversation)[before:]]
    with harness.session() as session:
        lunch_at = session.get(Group, group_id).lunch_at
    assert posted == [] and lunch_at is None, (posted, lunch_at, click.texts)
    assert click.texts == [round_messages.ROUND_OVER]


# 3 -----------------------------------------------------------------------------------------


def test_the_same_date_pressed_twice_is_proposed_once(harness, slack, settings):
    _, conversation, organiser, members = run(harness, slack, settings)
    other = next(u for u in members if u != organiser)
    button = date_buttons(slack, conversation)[0]
    with freeze_time(START + dt.timedelta(minutes=5), tick=True):
        harness.click(button["action_id"], button["value"], user=other, channel=conversation)
        again = harness.click(button["action_id"], button["value"], user=other,
                              channel=conversation).texts  # told privately instead
    proposals = [m.text for m in slack.messages(conversation) if "can do" in m.text]
    assert len(proposals) == 1, proposals
    assert len(again) == 1 and again[0].startswith("🙋 You already said you can do"), again


# 4 -----------------------------------------------------------------------------------------


def test_none_of_these_double_clicked_offers_the_next_days_once(
    slack, settings, twenty_pairs, quiet_harness
):
    calls = [
        (lambda g=group_id, u=members[0], c=conv: quiet_harness.click(
            round_messages.LUNCH_NONE, str(g), user=u, channel=c))
        for group_id, conv, _, members in twenty_pairs for _ in range(2)
    ]
    with freeze_time(START + dt.timedelta(minutes=5), tick=True):
        together(*calls)
        quiet_harness.executor.drain()
    def offered(conv):
        return [e["value"] for m in slack.messages(conv) for b in (m.blocks or [])
                if b.get("type") == "actions" for e in b["elements"]
                if e["action_id"].startswith(round_messages.LUNCH_PICK)]

    twice = [conv for _, conv, _, _ in twenty_pairs
             if len(offered(conv)) != len(set(offered(conv)))]
    example = [m.text for m in slack.messages(twice[0])][1:] if twice else None
    assert twice == [], (f"{len(twice)} of 20 groups got the same date buttons twice", example,
                         offered(twice[0]))


# 5 -----------------------------------------------------------------------------------------


def test_keep_me_in_on_a_nudge_after_the_program_was_switched_off_does_not_promise_rounds(
    harness, slack, settings
):
    program_id = make_program(settings, "C1")
    harness.command("disable", user="UADMIN", channel="C1")
    with harness.session() as session:
        assert not session.get(Program, program_id).enabled
    text = keep_me_in_on_an_old_nudge(harness, program_id)
    # their choice is kept, and they are told no round comes while the program is off
    assert text.endswith(texts.switched_off_now("C1")), text


# 6 -----------------------------------------------------------------------------------------


def test_keep_me_in_pressed_by_someone_now_a_guest_says_guests_are_not_paired(
    harness, slack, settings
):
    program_id = make_program(settings, "C1")
    slack.update_user("T1", "U1", is_restricted=True)  # made a guest since the nudge
    harness.event({"type": "user_change", "user": {"id": "U1", "team_id": "T1", "name": "u1",
                                                   "is_restricted": True, "deleted": False}})  # fmt: skip
    text = keep_me_in_on_an_old_nudge(harness, program_id)
    assert text == texts.left_out("guest"), text


def keep_me_in_on_an_old_nudge(harness, program_id: int) -> str:
    """U1 presses "Keep me in" on a nudge the app sent them; what the message becomes."""
    from slack_sdk import WebClient

    text, blocks = round_messages.nudge("C1", program_id, 3)
    posted = WebClient(token="xoxb-T1", base_url=harness.slack.api_url).chat_postMessage(
        channel="U1", text=text, blocks=blocks)  # fmt: skip
    harness.slack.reset_calls()
    harness.click(round_messages.NUDGE_STAY, str(program_id), user="U1",
                  channel=posted["channel"], message_ts=posted["ts"])  # fmt: skip
    (update,) = harness.slack.calls("chat.update")
    return update.args.get("text")


def test_two_members_answering_the_check_in_at_once_are_both_counted_as_answering(
    slack, settings, twenty_pairs, quiet_harness
):
    together(*everyone_pressing(quiet_harness, twenty_pairs, round_messages.CHECKIN_COULDNT))
    quiet_harness.executor.drain()
    with freeze_time(START + dt.timedelta(days=8)):
        rounds.close_due_rounds(settings, rounds.utcnow())
    from bot.storage.models import Participation
    with session_scope(settings.database_url) as session:
        lost = [g.id for g in session.scalars(select(Group)) if len(g.responders or []) != 2]
        silent = sorted(p.user_id for p in session.scalars(select(Participation))
                        if p.silent_rounds)
    assert lost == [], (f"{len(lost)} of 20 groups lost one member's answer;"
                        f" counted silent though they answered: {silent}")


# 7 -----------------------------------------------------------------------------------------


def test_say_thanks_when_the_other_asked_to_be_forgotten_does_not_say_not_your_group(
    harness, slack, settings
):
    group_id, conv, _, (me, other) = run(harness, slack, settings, group_size=2)
    assert rounds.record_checkin(settings, "T1", group_id, me, "met")
    harness.click(home.FORGET_ME,
                  "", user=other, channel=conv)
    told = harness.click(round_messages.SAY_THANKS, str(group_id), user=me, channel=conv).texts
    assert told == [texts.NOBODY_TO_THANK], told


# 8 -----------------------------------------------------------------------------------------


def test_a_date_proposal_after_the_organiser_was_forgotten_names_nobody_to_confirm(
    harness, slack, settings
):
    _, conv, organiser, members = run(harness, slack, settings, group_size=3)
    other = next(u for u in members if u != organiser)
    button = date_buttons(slack, conv)[0]
    harness.click(home.FORGET_ME, "", user=organiser, channel=conv)
    with freeze_time(START + dt.timedelta(minutes=5), tick=True):
        harness.click(button["action_id"], button["value"], user=other, channel=conv)
    last = slack.messages(conv)[-1].text
    assert "can do" in last and "forgotten-" not in last and "can confirm" not in last, last


def test_answers_coming_in_as_the_round_closes_are_not_counted_as_silence(
    slack, settings, twenty_pairs, quiet_harness
):
    """The round closes (counting who stayed silent) while everyone answers the check-in:
    an answer read as missing by the close was overwritten as one more silent round."""
    from bot.storage.models import Participation

    (round_id,) = {g.round_id for g in _groups(settings)}
    calls = everyone_pressing(quiet_harness, twenty_pairs, round_messages.CHECKIN_COULDNT)
    calls.insert(len(calls) // 2, lambda: rounds.close_round(settings, None, round_id))
    together(*calls)
    quiet_harness.executor.drain()
    with session_scope(settings.database_url) as session:
        answered = {u for g in session.scalars(select(Group)) for u in g.responders or []}
        silent = {p.user_id for p in session.scalars(select(Participation)) if p.silent_rounds}
    assert len(answered) == 40 and not answered & silent, sorted(answered & silent)


def _groups(settings) -> list[Group]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Group)))


# 10 ----------------------------------------------------------------------------------------


def test_not_yet_on_the_check_in_leaves_its_buttons_to_answer_later(harness, slack, settings):
    """"Not yet: there's still time this round" took the question's buttons away with it: the
    group could no longer answer "We met" where they had been asked."""
    group_id, conversation, _, members = run(harness, slack, settings)
    with freeze_time(START + dt.timedelta(days=3, minutes=1)):
        rounds.send_due_checkins(settings, rounds.utcnow())
    (asked,) = [m for m in slack.messages(conversation) if m.text == "Did you get to meet?"]

    def press(action_id: str, user: str):
        """A click on the question as it is now in the group DM; the question afterwards."""
        now = next(m for m in slack.messages(conversation) if m.ts == asked.ts)
        harness.click(action_id, str(group_id), user=user, channel=conversation,
                      message_ts=now.ts, message={"ts": now.ts, "text": now.text,
                                                  "blocks": now.blocks})  # fmt: skip
        after = next(m for m in slack.messages(conversation) if m.ts == asked.ts)
        shown = [b["text"]["text"] for b in after.blocks if b["type"] == "section"]
        actions = {b["block_id"]: [e["action_id"] for e in b["elements"]]
                   for b in after.blocks if b["type"] == "actions"}  # fmt: skip
        return shown, actions

    shown, actions = press(round_messages.CHECKIN_NOT_YET, members[0])
    assert shown == ["👀 Did you get to meet?",
                     f"⏳ <@{members[0]}> says not yet: there's still time this round."]
    assert actions == {f"checkin-{group_id}": [round_messages.CHECKIN_MET,
                       round_messages.CHECKIN_NOT_YET, round_messages.CHECKIN_COULDNT]}
    shown, _ = press(round_messages.CHECKIN_NOT_YET, members[1])  # the latest answer, once
    assert shown == ["👀 Did you get to meet?",
                     f"⏳ <@{members[1]}> says not yet: there's still time this round."]
    shown, actions = press(round_messages.CHECKIN_MET, members[1])
    assert shown == ["👀 Did you get to meet?",
                     f"✅ <@{members[1]}> says you met. Thanks for letting us know!"]
    assert actions == {f"after-{group_id}": [round_messages.SAY_THANKS,
                                             round_messages.KEEP_IN_TOUCH]}


def test_not_yet_after_the_round_closed_does_not_promise_time_this_round(harness, slack, settings):
    """Pressed once the next round had begun, "Not yet" still said "there's still time this
    round", of a round that was over; the answer is kept (they may still meet), truthfully."""
    group_id, conversation, _, members = run(harness, slack, settings)
    with freeze_time(START + dt.timedelta(days=3, minutes=1)):
        rounds.send_due_checkins(settings, rounds.utcnow())
    (asked,) = [m for m in slack.messages(conversation) if m.text == "Did you get to meet?"]
    with harness.session() as session:
        round_id = session.get(Group, group_id).round_id
    rounds.close_round(settings, None, round_id)
    harness.click(round_messages.CHECKIN_NOT_YET, str(group_id), user=members[0],
                  channel=conversation, message_ts=asked.ts,
                  message={"ts": asked.ts, "text": asked.text, "blocks": asked.blocks})  # fmt: skip
    after = next(m for m in slack.messages(conversation) if m.ts == asked.ts)
    shown = [b["text"]["text"] for b in after.blocks if b["type"] == "section"]
    assert shown == ["👀 Did you get to meet?",
                     f"⏳ <@{members[0]}> says not yet: this round is over, but you can still "
                     "meet. Say so here when you have."]
    with harness.session() as session:
        assert session.get(Group, group_id).outcome == "not_yet"


# 11 ----------------------------------------------------------------------------------------


@pytest.fixture
def twenty_channels(slack, settings):
    """A pair in each of 20 channels, introduced on Monday 1 June a minute apart: each round
    asks "did you meet?" on Thursday a minute after the one before."""
    for k in range(20):
        pair, channel = [f"U{2 * k:03d}", f"U{2 * k + 1:03d}"], f"C{k:03d}"
        for user in pair:
            slack.add_user("T1", user, tz="Europe/Berlin")
        slack.add_channel("T1", channel, f"lunch-{k}", members=[*pair, "UBOT"])
        with session_scope(settings.database_url) as session:
            program = Program(team_id="T1", channel_id=channel, timezone="Europe/Berlin",
                              next_run_at=START + dt.timedelta(days=365))
            session.add(program)
            session.flush()
            program_id = program.id
        with freeze_time(START + dt.timedelta(minutes=k)):
            rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with session_scope(settings.database_url) as session:
        return [(g.id, g.conversation_id, g.organiser_id, [m.user_id for m in g.members])
                for g in session.scalars(select(Group).order_by(Group.id))]


def test_reschedule_pressed_as_the_check_in_goes_out_still_gets_the_group_asked_once(
    slack, settings, twenty_channels, quiet_harness
):
    """A pair whose lunch day has gone presses "Reschedule" just as the clock sends their
    round's "did you meet?": it left them out while they had a day, and Reschedule gives the
    check-in back. The clock counted nobody left to ask, marked the round's check-in as sent
    as the click gave it back, and the pair was never asked. Only a round's first Reschedule
    can be missed (any later one gives the check-in back again), so each of the 20 rounds
    is one chance of it."""
    thursdays = [(date_buttons(slack, conv)[-1], organiser, conv)
                 for _, conv, organiser, _ in twenty_channels]  # fmt: skip
    with freeze_time(START + dt.timedelta(hours=1), tick=True):  # each agrees Thursday
        together(*[(lambda b=b, u=u, c=c: quiet_harness.click(b["action_id"], b["value"],
                                                              user=u, channel=c))
                   for b, u, c in thursdays])  # fmt: skip
    with session_scope(settings.database_url) as session:
        assert all(g.lunch_at is not None for g in session.scalars(select(Group)))
    for k, (group_id, conv, organiser, _) in enumerate(twenty_channels):
        with freeze_time(START + dt.timedelta(days=3, minutes=k, seconds=30), tick=True):
            together(lambda: rounds.send_due_checkins(settings, rounds.utcnow()),
                     lambda g=group_id, u=organiser, c=conv: quiet_harness.click(
                         round_messages.LUNCH_RESCHEDULE, str(g), user=u, channel=c))  # fmt: skip
            quiet_harness.executor.drain()
    for hours in (1, 2):  # the next ticks
        with freeze_time(START + dt.timedelta(days=3, hours=hours)):
            rounds.send_due_checkins(settings, rounds.utcnow())
            lunches.send_due(settings, rounds.utcnow())
    asked = {conv: [m.text for m in slack.messages(conv)].count("Did you get to meet?")
             for _, conv, _, _ in twenty_channels}
    never = [conv for conv, times in asked.items() if times == 0]
    twice = [conv for conv, times in asked.items() if times > 1]
    assert never == [] and twice == [], (f"{len(never)} of 20 pairs never asked", twice)
