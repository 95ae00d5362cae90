"""After lunch: "Say thanks" sends a note to the others (its words are never stored), and
"Let's keep in touch" reminds a group every few weeks once everyone chose it; a member can
stop it, admins only see counts, forget-me removes a person's choices."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from freezegun import freeze_time
from sqlalchemy import select, text
from test_meet_harness import make_program, open_harness

from bot.domain.services import rounds
from bot.edge import home
from bot.jobs.clock import Clock
from bot.slack import round_messages, texts
from bot.storage.models import AfterLunch, Group

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def lunch(harness, slack, settings):
    """A delivered round in #lunch, and one of its groups that said it met."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1")
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group).order_by(Group.id)).first()
        members = [m.user_id for m in group.members]
        found = group.id, group.conversation_id, members
    group_id, conversation, members = found
    # (the "We met" button itself, and the buttons it brings: tests/test_rounds.py)
    assert rounds.record_checkin(settings, "T1", group_id, members[0], "met")
    slack.reset_calls()
    return group_id, conversation, members


def test_say_thanks_opens_a_note_that_reaches_the_others_and_is_not_kept(harness, slack, lunch):
    group_id, _, members = lunch
    me, others = members[0], members[1:]
    harness.click(round_messages.SAY_THANKS, str(group_id), user=me, channel="D1")
    (modal,) = [v for v in slack.views("modal") if v["callback_id"] == round_messages.THANKS_CALLBACK]
    assert modal["private_metadata"] == str(group_id)

    for blank in ("   ", "\u200b \u2060\u200b\n"):  # nothing to read, however it looks
        status, ack = harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": blank}},
                                     str(group_id), user=me)  # fmt: skip
        assert status == 200 and ack["response_action"] == "errors" and "note" in ack["errors"]

    note = "Thank you! <!channel> & see you at the *noodle* place"
    status, _ = harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": note}},
                               str(group_id), user=me)  # fmt: skip
    assert status == 200
    for other in others:
        (dm,) = [m for m in slack.messages() if m.channel == slack.conversation_id("T1", [other])
                 or m.channel == other]  # fmt: skip
        assert f"A note from <@{me}>" in dm.text
        assert "&lt;!channel&gt; &amp; see you" in dm.text and "<!channel>" not in dm.text
    assert any("Your note was sent to" in m.text for m in slack.messages())
    with harness.session() as session:
        assert [(a.user_id, a.kind) for a in session.scalars(select(AfterLunch))] == [(me, "thanks")]
        dump = "\n".join(str(row) for table in ("after_lunch", "groups", "members")
                         for row in session.execute(text(f"SELECT * FROM {table}")))  # fmt: skip
    assert "noodle" not in dump  # the note's words are delivered, never stored


def test_only_the_groups_members_can_thank_and_a_forged_note_goes_nowhere(harness, slack, lunch):
    group_id, _, _ = lunch
    result = harness.click(round_messages.SAY_THANKS, str(group_id), user="UGUEST", channel="D1")
    assert "isn't yours" in result.responses[0]["text"]
    assert not slack.views("modal")
    harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": "hi"}}, str(group_id),
                   user="UGUEST")  # fmt: skip
    harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": "hi"}}, "12345x",
                   user="UGUEST")  # fmt: skip
    assert not slack.calls("chat.postMessage")


def test_keep_in_touch_starts_only_when_everyone_chose_it_and_reminds_until_stopped(
    harness, slack, settings, lunch
):
    group_id, conversation, members = lunch
    intro_only = slack.messages(conversation)
    first = harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=members[0],
                          channel=conversation)  # fmt: skip
    assert "Nobody is told until then" in first.responses[0]["text"]
    assert slack.messages(conversation) == intro_only  # nobody learns of a one-sided wish
    again = harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=members[0],
                          channel=conversation)  # fmt: skip
    assert "already" in again.responses[0]["text"]
    with freeze_time(START + dt.timedelta(days=2)):
        for member in members[1:]:
            harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=member,
                          channel=conversation)  # fmt: skip
    (formed,) = slack.messages(conversation)[len(intro_only):]
    assert "You all want to keep in touch" in formed.text and "every 12 weeks" in formed.text

    clock = Clock(settings)
    reminders = lambda: [m for m in slack.messages(conversation) if "time for another" in m.text]  # noqa: E731
    clock.tick(START + dt.timedelta(days=2, weeks=12) - dt.timedelta(minutes=1))
    assert reminders() == []
    clock.tick(START + dt.timedelta(days=2, weeks=12, minutes=1))
    clock.tick(START + dt.timedelta(days=2, weeks=12, minutes=2))  # claimed: not twice
    assert len(reminders()) == 1

    listed = harness.command("keep-in-touch", user=members[1])
    assert "You keep in touch with" in listed.text
    assert json.dumps(listed.responses[0]["blocks"]).count(round_messages.STOP_KEEPING_IN_TOUCH) == 1
    stopped = harness.click(round_messages.STOP_KEEPING_IN_TOUCH, str(group_id), user=members[1],
                            channel=conversation)  # fmt: skip
    assert "no more keep-in-touch reminders" in stopped.responses[0]["text"]
    clock.tick(START + dt.timedelta(days=2, weeks=30))
    assert len(reminders()) == 1
    assert "no keep-in-touch reminders" in harness.command("keep-in-touch", user=members[0]).text


def test_admins_see_counts_only_and_forget_me_takes_a_persons_choices(harness, slack, lunch):
    group_id, conversation, members = lunch
    harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": "cheers"}}, str(group_id),
                   user=members[0])  # fmt: skip
    for member in members:
        harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=member,
                      channel=conversation)  # fmt: skip
    stats = harness.command("stats", user="UADMIN", channel="C1").text
    assert "1 thank-you note sent, 1 group keeping in touch" in stats
    assert "cheers" not in stats

    harness.click(home.FORGET_ME, "yes", user=members[0])
    with harness.session() as session:
        assert members[0] not in {a.user_id for a in session.scalars(select(AfterLunch))}
        assert session.get(Group, group_id).touch_next_at is None  # no reminders for them



def test_keep_in_touch_stops_once_nobody_is_left_to_lunch_with(harness, slack, settings, lunch):
    """The others left the company (their accounts deactivated): every 12 weeks the one
    still here was asked "time for another lunch together?" with nobody to have it with,
    and `/meet keep-in-touch` kept listing them."""
    group_id, conversation, members = lunch
    with freeze_time(START + dt.timedelta(days=2)):
        for member in members:
            harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=member,
                          channel=conversation)  # fmt: skip
    me, gone = members[0], members[1:]
    for user in gone:
        slack.update_user("T1", user, deleted=True)
        harness.event({"type": "user_change", "user": {"id": user, "team_id": "T1",
                                                       "deleted": True}})  # fmt: skip
    Clock(settings).tick(START + dt.timedelta(weeks=13))
    assert not [m for m in slack.messages(conversation) if "time for another" in m.text]
    assert "no keep-in-touch reminders" in harness.command("keep-in-touch", user=me).text
    with harness.session() as session:
        assert session.get(Group, group_id).touch_next_at is None


def test_keep_in_touch_goes_on_for_those_still_here(harness, slack, settings):
    """In a trio, one left the company: the two others are still reminded."""
    for user in ("UBOT", "U5"):
        slack.add_member("T1", "C1", user)
    program_id = make_program(settings, "C1", group_size=3)
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = next(g for g in session.scalars(select(Group)) if len(g.members) == 3)
        group_id, conversation = group.id, group.conversation_id
        members = [m.user_id for m in group.members]
    assert rounds.record_checkin(settings, "T1", group_id, members[0], "met")
    with freeze_time(START + dt.timedelta(days=2)):
        for member in members:
            harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=member,
                          channel=conversation)  # fmt: skip
    slack.update_user("T1", members[2], deleted=True)
    harness.event({"type": "user_change", "user": {"id": members[2], "team_id": "T1",
                                                   "deleted": True}})  # fmt: skip
    Clock(settings).tick(START + dt.timedelta(weeks=13))
    assert [m for m in slack.messages(conversation) if "time for another" in m.text]

def test_the_keep_in_touch_list_names_the_others_of_each_group_with_reminders_on(settings):
    from conftest import statements_run

    from bot.domain.services import after_lunch
    from bot.domain.services.people import FORGOTTEN_PREFIX
    from bot.storage.db import session_scope
    from bot.storage.models import GroupMember, Program, Round

    def group(session, channel, team, members, touch):
        program = Program(team_id=team, channel_id=channel)
        round_ = Round(program=program, slot=START, status="delivered")
        group = Group(round=round_, position=0, touch_next_at=START if touch else None)
        group.members = [GroupMember(user_id=u) for u in members]
        session.add(group)
        session.flush()
        return group.id

    with session_scope(settings.database_url) as session:
        three = group(session, "C1", "T1", ["U3", "U1", "U2"], touch=True)
        alone = group(session, "C2", "T1", ["U1", FORGOTTEN_PREFIX + "x"], touch=True)
        group(session, "C3", "T1", ["U1", "U4"], touch=False)  # reminders stopped
        group(session, "C4", "T2", ["U1", "U5"], touch=True)  # another workspace
        group(session, "C5", "T1", ["U6", "U7"], touch=True)  # not theirs
    with statements_run(settings.database_url) as statements, \
            session_scope(settings.database_url) as session:  # fmt: skip
        ties = after_lunch.ties_of(session, "T1", "U1")
        assert len(statements) == 1  # one query, however many groups
        assert after_lunch.ties_of(session, "T1", "U9") == []
    assert ties == [(three, "C1", ["U2", "U3"]), (alone, "C2", [])]


@pytest.mark.parametrize(("action", "method", "code"), [
    (round_messages.SAY_THANKS, "views.open", "expired_trigger_id"),
    (round_messages.LUNCH_NONE, "chat.postMessage", "is_archived"),
])
def test_a_button_whose_work_slack_refuses_tells_the_person(harness, slack, lunch, action,
                                                            method, code):
    """The click was acknowledged, then Slack refused the call that answers it (a trigger
    that expired while the work waited, an archived conversation): the person is told, as
    an ephemeral where the button was, instead of seeing nothing."""
    group_id, conversation, members = lunch
    slack.fail_next(method, error=code)
    result = harness.click(action, str(group_id), user=members[0], channel=conversation)
    assert [r["text"] for r in result.responses] == [
        f"⚠️ I couldn't finish that: Slack answered `{code}`. Please try again in a moment; "
        "if it keeps happening, tell your Slack admin."
    ]
    assert all(r.get("response_type") == "ephemeral" for r in result.responses)


# Values the app never writes into its buttons and modals: too large for an integer column
# (the database refused the parameter: "something went wrong", and an error in the log), or
# digits that are not 0-9 ("²" passed isdigit() and then failed int()).
NOT_IDS = ["9" * 40, str(2**31), "²", "١٢"]


def test_ids_the_app_never_wrote_are_refused_like_foreign_ones(harness, slack, lunch, caplog):
    group_id, conversation, members = lunch
    buttons = [round_messages.CHECKIN_MET, round_messages.SAY_THANKS,
               round_messages.KEEP_IN_TOUCH, round_messages.STOP_KEEPING_IN_TOUCH,
               round_messages.LUNCH_NONE, round_messages.LUNCH_RESCHEDULE]  # fmt: skip
    for value in NOT_IDS:
        for action in buttons:
            result = harness.click(action, value, user=members[0], channel=conversation)
            assert result.texts == [texts.NOT_YOUR_GROUP], (action, value)
        pick = harness.click(f"{round_messages.LUNCH_PICK}_0", f"{group_id}:{value}",
                             user=members[0], channel=conversation)  # fmt: skip
        assert pick.texts == [texts.NOT_YOUR_GROUP], value
        harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": "hi"}}, value,
                       user=members[0])  # fmt: skip
        harness.click(home.PAUSE, value, user=members[0], from_home=True)
        harness.submit(home.SETTINGS_CALLBACK, {}, json.dumps({"program": value}), user="UADMIN")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not slack.calls("chat.postMessage") and not slack.calls("chat.update")


def test_a_note_slack_will_not_deliver_to_one_person_still_reaches_the_rest(
    harness, slack, settings
):
    """A deactivated member stopped the note at them: the others got nothing, the sender
    no word, and the log an error."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", group_size=3)
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group).order_by(Group.id)).first()
        group_id, members = group.id, [m.user_id for m in group.members]
    me, gone, other = members[0], members[1], members[2]
    slack.update_user("T1", gone, deleted=True)
    harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": "Thanks!"}}, str(group_id),
                   user=me)  # fmt: skip
    to = lambda user: [m.text for m in slack.messages()  # noqa: E731
                       if m.channel in (user, slack.conversation_id("T1", [user]))]  # fmt: skip
    assert any(f"A note from <@{me}>" in t for t in to(other))
    assert not any("A note from" in t for t in to(gone))
    (told,) = [t for t in to(me) if "Your note" in t]
    assert f"sent to <@{other}>" in told and f"would not deliver it to <@{gone}>" in told


def test_a_group_with_someone_forgotten_does_not_start_keeping_in_touch(
    harness, slack, settings, lunch
):
    """The others alone made the choice "unanimous": reminders went to a conversation that
    still holds the person who asked to be forgotten, every 12 weeks."""
    group_id, conversation, members = lunch
    harness.click(home.FORGET_ME, "confirm", user=members[0])
    before = slack.messages(conversation)
    for member in members[1:]:
        result = harness.click(round_messages.KEEP_IN_TOUCH, str(group_id), user=member,
                               channel=conversation)  # fmt: skip
        assert "won't post reminders in this conversation" in result.texts[0]
    assert slack.messages(conversation) == before
    with harness.session() as session:
        assert session.get(Group, group_id).touch_next_at is None


def test_forget_me_in_one_workspace_keeps_the_same_ids_choices_in_another(harness, lunch):
    """The same user id in another workspace is somebody else: their keep-in-touch choice
    was deleted too, and their group never started its reminders."""
    from bot.storage.models import GroupMember, Program, Round

    group_id, conversation, members = lunch
    me = members[0]
    with harness.session() as session:
        program = Program(team_id="T9", channel_id="C9")
        other = Group(round=Round(program=program, slot=START, status="delivered"), position=0)
        other.members = [GroupMember(user_id=me), GroupMember(user_id="U9")]
        session.add(other)
        session.flush()
        session.add(AfterLunch(group_id=other.id, user_id=me, kind="keep_in_touch"))
        elsewhere = other.id
    harness.click(home.FORGET_ME, "yes", user=me)
    with harness.session() as session:
        kept = [(a.group_id, a.user_id) for a in session.scalars(select(AfterLunch))]
    assert kept == [(elsewhere, me)]
