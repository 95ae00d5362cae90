"""Who is counted as taking part, and who from another organisation is not: the Home tab and
`/meet status` read the members the app keeps (from setup, rounds and member events), never
one Slack call per program, and say so when the channel could not be read."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_meet_admin import form
from test_meet_harness import Harness

from bot.domain.services.membership import is_external
from bot.edge import home
from bot.storage.db import session_scope
from bot.storage.models import GroupMember, Program

PEOPLE = [f"U{i:02d}" for i in range(1, 13)]  # 12 people who would really be grouped


@pytest.fixture
def harness(slack, settings):
    """#lunch with 12 people, the app, Slackbot, a deactivated account, a guest and someone
    from another organisation (Slack Connect), set up by an admin."""
    slack.add_user("T1", "UADMIN", is_admin=True, tz="Europe/Berlin")
    for user in PEOPLE:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_user("T1", "UGONE", deleted=True)
    slack.add_user("T1", "UGUEST", is_restricted=True)
    slack.add_user("T1", "UEXT", home_team="T0THER", is_stranger=True)
    slack.add_user("T1", "UNEW")
    slack.add_channel(
        "T1", "C1", "lunch",
        members=[*PEOPLE, "UBOT", "USLACKBOT", "UGONE", "UGUEST", "UEXT"],
    )
    h = Harness(slack, settings)
    try:
        setup = h.command("setup", user="UADMIN", channel="C1")
        assert "Lunch pairing is on in <#C1>" in setup.text
        slack.reset_calls()
        yield h
    finally:
        h.close()


def admin_home(harness) -> str:
    harness.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1", "tab": "home"})
    return json.dumps(harness.slack.home_view("T1", "UADMIN"), ensure_ascii=False)


def event(harness, kind: str, user: str, channel: str = "C1") -> None:
    harness.event({"type": kind, "user": user, "channel": channel, "channel_type": "C",
                   "team": "T1"})


def program_row(harness) -> Program:
    with session_scope(harness.settings.database_url) as session:
        return session.scalar(select(Program).where(Program.channel_id == "C1"))


def test_the_home_tab_counts_only_people_who_would_be_grouped_without_asking_slack(harness):
    text = admin_home(harness)
    assert "12 taking part · 0 rounds" in text
    # opening the Home tab reads what the app keeps: no member list, no user per member
    methods = {c.method for c in harness.slack.calls()}
    assert "conversations.members" not in methods and "users.list" not in methods
    assert [c.args["user"] for c in harness.slack.calls("users.info")] == ["UADMIN"]


def test_status_asks_slack_nothing_per_program(harness):
    text = harness.command("status", user="U01", channel="D1").text
    assert "<#C1>" in text and "Next round:" in text
    assert harness.slack.calls("conversations.members") == []


def test_joining_leaving_opting_out_and_pausing_move_the_count(harness):
    harness.slack.add_member("T1", "C1", "UNEW")
    event(harness, "member_joined_channel", "UNEW")
    assert "13 taking part" in admin_home(harness)
    harness.slack.remove_member("T1", "C1", "U01")
    event(harness, "member_left_channel", "U01")
    harness.command("leave", user="U02", channel="C1")
    harness.command("pause 2 weeks", user="U03", channel="C1")
    assert "10 taking part (1 paused)" in admin_home(harness)
    assert harness.slack.calls("conversations.members") == []


def test_a_round_in_progress_counts_and_refreshes_the_members(harness):
    harness.slack.remove_member("T1", "C1", "U12")  # left while no event reached the app
    harness.command("now", user="UADMIN", channel="C1")
    # the admin is not in C1, so the outcome comes as a DM
    dm = harness.slack.conversation_id("T1", ["UADMIN"])
    assert any("Round in <#C1> done: 5 groups" in m.text for m in harness.slack.messages(dm))
    text = admin_home(harness)
    assert "11 taking part · 1 round ·" in text


def test_a_channel_that_cannot_be_read_is_shown_not_hidden(harness):
    event(harness, "member_left_channel", "UBOT")  # the app was removed from #lunch
    text = admin_home(harness)
    assert "<#C1>" in text  # still listed
    assert "I can't see who is in <#C1> (Slack says `not_in_channel`)" in text
    assert "`/invite @Worth Knowing`" in text

    harness.slack.remove_member("T1", "C1", "UBOT")
    harness.slack.add_channel("T1", "C1", "lunch", members=PEOPLE, is_private=True)
    harness.allow_errors = True
    harness.command("now", user="UADMIN", channel="C1")
    assert program_row(harness).members_error == "channel_not_found"
    assert "(Slack says `channel_not_found`)" in admin_home(harness)

    harness.slack.add_channel("T1", "C1", "lunch", members=[*PEOPLE, "UBOT"])
    harness.command("setup", user="UADMIN", channel="C1")  # setup again reads them afresh
    text = admin_home(harness)
    assert "12 taking part" in text and "can't see who is in" not in text


# ---------------------------------------------------------------- Slack Connect


def test_someone_from_another_organisation_is_told_why_and_left_out(harness):
    text = harness.command("status", user="UEXT", channel="C1").text
    assert "<#C1>" in text and "from another organisation" in text
    assert "/meet external on" in text and "Next round" not in text
    harness.event({"type": "app_home_opened", "user": "UEXT", "channel": "D1", "tab": "home"})
    assert "from another organisation" in json.dumps(harness.slack.home_view("T1", "UEXT"), ensure_ascii=False)
    harness.command("now", user="UADMIN", channel="C1")
    with session_scope(harness.settings.database_url) as session:
        assert "UEXT" not in set(session.scalars(select(GroupMember.user_id)))


@pytest.mark.parametrize(("user", "why"), [("UGUEST", "Guests aren't paired"),
                                           ("UEXT", "from another organisation"),
                                           ("UGONE", "deactivated")])
def test_join_says_why_someone_is_not_paired_as_status_does(harness, user, why):
    """It said "You're already taking part" to people the rounds leave out."""
    joined = harness.command("join", user=user, channel="C1").text
    assert why in joined and "already taking part" not in joined
    assert joined in harness.command("status", user=user, channel="D1").text


def test_an_admin_lets_people_from_other_organisations_take_part(harness):
    reply = harness.command("external on", user="UADMIN", channel="C1").text
    assert "People from other organisations in <#C1> now take part" in reply
    assert program_row(harness).allow_external
    assert "13 taking part" in admin_home(harness)
    assert "Next round:" in harness.command("status", user="UEXT", channel="C1").text
    harness.command("now", user="UADMIN", channel="C1")
    with session_scope(harness.settings.database_url) as session:
        (group_id,) = session.scalars(
            select(GroupMember.group_id).where(GroupMember.user_id == "UEXT")
        )
        others = set(
            session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id))
        )
    # Slack opens a group DM across organisations for people who share a channel
    conversation = harness.slack.conversation_id("T1", sorted(others))
    assert conversation and "a lunch group from <#C1>" in harness.slack.messages(conversation)[0].text

    assert "Only people of this workspace" in harness.command(
        "external off", user="UADMIN", channel="C1"
    ).text
    assert "12 taking part" in admin_home(harness)


def test_people_from_other_organisations_who_take_part_can_be_named_but_not_made_admins(
    harness,
):
    """/meet avoid and an admin's /meet level said "I can't find UEXT in this workspace" of
    someone the rounds group (the Home tab's picker took them)."""
    assert "I can't find `UEXT`" in harness.command("avoid <@UEXT>", user="U01").text
    harness.command("external on", user="UADMIN", channel="C1")
    assert "I can't find" not in harness.command("avoid <@UEXT>", user="U01").text
    assert "UEXT" in harness.command("avoid", user="U01").text  # on the list
    reply = harness.command("level <@UEXT> 3", user="UADMIN").text
    assert "I can't find" not in reply and "3" in reply
    assert "I can't find `UEXT`" in harness.command("admins add <@UEXT>", user="UADMIN").text


def test_only_admins_change_it_and_bad_words_get_the_usage(harness):
    assert "only workspace admins" in harness.command("external on", user="U01").text
    assert not program_row(harness).allow_external
    result = harness.command("external maybe", user="UADMIN")
    assert "Say `on` or `off`" in result.ack_text and "/meet external on" in result.ack_text


def test_the_settings_modal_has_the_slack_connect_option(harness):
    program_id = program_row(harness).id
    options = {"value": {"type": "checkboxes", "selected_options": [{"value": "allow_external"}]}}
    status, ack = harness.submit(
        home.SETTINGS_CALLBACK, form(options=options), json.dumps({"program": program_id}),
        user="UADMIN",
    )
    assert status == 200 and not ack
    assert program_row(harness).allow_external
    harness.click(home.SETTINGS, str(program_id), user="UADMIN", from_home=True)
    modal = harness.slack.calls("views.open")[-1].args["view"]
    (block,) = [b for b in modal["blocks"] if b.get("block_id") == "options"]
    assert [o["value"] for o in block["element"]["initial_options"]] == ["allow_external"]


def test_no_welcome_for_an_outsider_where_they_do_not_take_part(harness):
    harness.slack.add_user("T1", "UEXT2", home_team="T0THER")  # shares a workspace: no flag
    harness.slack.add_member("T1", "C1", "UEXT2")
    event(harness, "member_joined_channel", "UEXT2")
    assert harness.slack.conversation_id("T1", ["UEXT2"]) is None
    assert "12 taking part" in admin_home(harness)


def test_who_is_from_another_organisation():
    assert is_external({"id": "U1", "team_id": "T2", "is_stranger": True}, "T1")
    assert is_external({"id": "U1", "team_id": "T2"}, "T1")
    assert is_external({"id": "U1", "team_id": "T1", "is_stranger": True}, "T1")
    assert not is_external({"id": "U1", "team_id": "T1"}, "T1")
    # Enterprise Grid: a sibling workspace of the same organisation
    grid = {"id": "W1", "team_id": "T2", "enterprise_user": {"teams": ["T1", "T2"]}}
    assert not is_external(grid, "T1")
    org = {"id": "W2", "team_id": "T3", "enterprise_user": {"enterprise_id": "E1", "teams": ["T3"]}}
    assert not is_external(org, "T1", "E1")
    assert is_external(org, "T1", "E2") and is_external(org, "T1")


def test_a_deactivated_account_stops_counting_and_a_reactivated_one_counts_again(harness):
    user = {"id": "U05", "team_id": "T1", "name": "u05", "deleted": True, "is_bot": False}
    harness.event({"type": "user_change", "user": user})
    assert "11 taking part" in admin_home(harness)
    harness.event({"type": "user_change", "user": {**user, "deleted": False}})
    assert "12 taking part" in admin_home(harness)


def test_a_program_set_up_before_members_were_kept_is_read_once(slack, settings):
    """After an upgrade no program has kept members: the first Home tab or /meet status
    reads them once, and later opens ask Slack nothing."""
    from test_meet_harness import make_program

    for user in PEOPLE:
        slack.add_user("T1", user)
    slack.add_channel("T1", "C1", "lunch", members=[*PEOPLE, "UBOT"])
    make_program(settings, "C1", count_members=False)
    h = Harness(slack, settings)
    try:
        assert "<#C1>" in h.command("status", user="U01", channel="D1").text
        assert len(slack.calls("conversations.members")) == 1
        h.command("status", user="U02", channel="D1")
        h.event({"type": "app_home_opened", "user": "U03", "channel": "D1", "tab": "home"})
        assert "<#C1>" in json.dumps(slack.home_view("T1", "U03"))
        assert len(slack.calls("conversations.members")) == 1
    finally:
        h.close()


@pytest.mark.parametrize("shown", [True, False])
def test_people_of_another_organisation_in_a_large_channel_are_read_one_by_one(harness, shown):
    """Over 50 members the channel's people come from one users.list walk, which holds the
    workspace's own people only: someone of another organisation was then never grouped,
    even with `external on`, and one Slack no longer shows would not be left out either."""
    from bot.storage.models import Group, GroupMember

    for i in range(45):
        harness.slack.add_user("T1", f"UM{i:02d}", tz="Europe/Berlin")
        harness.slack.add_member("T1", "C1", f"UM{i:02d}")
    harness.command("external on", user="UADMIN", channel="C1")
    harness.slack.update_user("T1", "UEXT", visible=shown)
    harness.command("now", user="UADMIN", channel="C1")
    with session_scope(harness.settings.database_url) as session:
        grouped = set(session.scalars(select(GroupMember.user_id)))
        deliveries = set(session.scalars(select(Group.delivery)))
    assert len(grouped) == 57 + shown and ("UEXT" in grouped) == shown  # 12 + 45 people
    assert deliveries == {"posted"}
