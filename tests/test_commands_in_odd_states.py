"""`/meet` in odd states and orders: paused, left, forgotten, switched off, in a direct
message; each reply says what is so."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_meet_harness import make_program, open_harness

from bot.edge import home
from bot.slack import texts
from bot.storage.models import Member, Participation, Program


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def _participation(h, user):
    with h.session() as session:
        return session.scalar(select(Participation).where(Participation.user_id == user))


@pytest.mark.parametrize("where", ["C1", "D1"])  # a pause of this program, or of all programs
def test_join_while_paused_does_not_promise_the_next_round(harness, where):
    make_program(harness.settings, "C1")
    harness.command("pause 4 weeks", user="U1", channel=where)
    harness.command("leave", user="U1", channel="C1")
    reply = harness.command("join", user="U1", channel="C1").text
    status = harness.command("status", user="U1", channel="C1").text
    assert "You're paused through" in status  # the pause is still there, and join says so
    assert "You'll be in the next lunch round" not in reply
    assert reply.startswith("Welcome back to <#C1>.") and "You're paused through" in reply


def test_resume_after_leave_does_not_say_back_for_the_next_round(harness):
    make_program(harness.settings, "C1")
    harness.command("pause 4 weeks", user="U1", channel="C1")
    harness.command("leave", user="U1", channel="C1")
    reply = harness.command("resume", user="U1", channel="C1").text
    assert _participation(harness, "U1").opted_out
    assert reply == ("You're no longer paused in <#C1>. " + texts.not_taking_part("C1"))


def test_pause_and_resume_after_forget_me_do_not_promise_rounds(harness):
    make_program(harness.settings, "C1")
    harness.click(home.FORGET_ME, "confirm", user="U3")
    paused = harness.command("pause 2 weeks", user="U3", channel="C1").text
    resumed = harness.command("resume", user="U3", channel="C1").text
    assert _participation(harness, "U3").opted_out
    assert "you'll be back for the first round after that" not in paused
    assert "for the next round" not in resumed
    assert paused.endswith(texts.not_taking_part("C1")) and resumed.endswith(
        texts.not_taking_part("C1"))  # fmt: skip


@pytest.mark.parametrize("text", ["join", "pause 2 weeks", "resume"])
def test_member_commands_in_a_switched_off_program_say_it_is_off(harness, text):
    make_program(harness.settings, "C1")
    harness.command("leave", user="U1")
    harness.command("pause 1 week", user="U1")
    harness.command("disable", user="UADMIN")
    reply = harness.command(text, user="U1").text
    # as the Home tab's buttons say it: no round is promised
    assert reply.endswith(texts.switched_off_now("C1")), reply
    assert "next round" not in reply and "first round after" not in reply, reply


def test_setup_of_a_switched_off_program_does_not_say_it_was_already_on(harness):
    make_program(harness.settings, "C1", enabled=False)
    harness.slack.add_member("T1", "C1", "UBOT")
    reply = harness.command("setup", user="UADMIN", channel="C1").text
    with harness.session() as session:
        assert session.scalar(select(Program.enabled).where(Program.channel_id == "C1"))
    assert reply.startswith("Lunch pairing is back on in <#C1>"), reply


def test_admin_command_in_a_dm_does_not_suggest_setup_there(harness):
    reply = harness.command("size 3", user="UADMIN", channel="D1").text
    refused = harness.command("setup", user="UADMIN", channel="D1").text
    assert "not in a direct message" in refused
    assert reply == "`/meet size` is about a channel's lunch pairing: run it in that channel."


def test_invisible_character_after_a_command_is_not_a_riddle(harness):
    reply = harness.command("status\u200b", user="U1").text
    assert "I don't know" not in reply and "Your lunch programs" in reply, reply


def test_admins_list_with_extra_words_does_not_reject_list(harness):
    reply = harness.command("admins list all", user="UADMIN").text
    assert "`/meet admins list` takes nothing after it" in reply, reply


def test_self_level_without_any_program_does_not_blame_this_program(harness):
    reply = harness.command("level 3", user="U1", channel="D1").text
    assert reply == texts.SELF_LEVELS_OFF_EVERYWHERE


def test_showing_lunch_days_after_forget_me_stores_nothing(harness):
    make_program(harness.settings, "C1")
    harness.click(home.FORGET_ME, "confirm", user="U3")
    harness.command("days", user="U3", channel="D1")
    harness.command("lunchtime", user="U3", channel="D1")
    with harness.session() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U3")) is None


def test_too_many_at_once_on_an_empty_avoid_list_is_not_called_full(harness):
    for i in range(51):
        harness.slack.add_user("T1", f"UP{i:02d}")
    reply = harness.command("avoid " + " ".join(f"<@UP{i:02d}>" for i in range(51)), user="U1").text
    assert "Your avoid list is empty" in harness.command("avoid list", user="U1").text
    assert reply == texts.AVOID_TOO_MANY.format(most=50, total=51)


def test_setup_in_an_archived_public_channel_does_not_say_private(harness):
    harness.slack.add_channel("T1", "C9", "old", members=["UADMIN"])
    harness.slack.fail_next("conversations.join", error="is_archived")
    reply = harness.command("setup", user="UADMIN", channel="C9").text
    assert reply == texts.ARCHIVED_CHANNEL


@pytest.mark.parametrize("text", ["level <@U3> 5", "department <@U3> Finance"])
def test_an_admin_setting_a_value_for_who_asked_to_be_forgotten_stores_nothing(harness, text):
    make_program(harness.settings, "C1")
    harness.click(home.FORGET_ME, "confirm", user="U3")
    reply = harness.command(text, user="UADMIN", channel="C1").text
    with harness.session() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U3")) is None
    assert reply == texts.withdrawn_person("U3"), reply
