"""Avoid lists: `/meet avoid @person` and the Home tab's picker keep two people out of one
group in every round; the list is private to its owner (the other person is never told,
admins see only a count), and forget-me removes it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from freezegun import freeze_time
from test_home import open_home, text_of
from test_meet_harness import make_program, open_harness, play_rounds, snapshot

from bot.domain.services import avoids, rounds
from bot.edge import home
from bot.slack import round_messages
from bot.storage.models import Avoid


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def listed(harness, user: str = "U1") -> list[str]:
    with harness.session() as session:
        return avoids.of(session, "T1", user)


def avoid_block(view: dict) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == "avoid")


def test_avoid_unavoid_and_list_answer_privately_and_tell_no_one_else(harness, slack):
    make_program(harness.settings, "C1")
    slack.reset_calls()
    result = harness.command("avoid <@U2|bob>", user="U1")
    assert "you won't be grouped with <@U2> in any round" in result.text
    assert "They aren't told" in result.text
    assert all(r.get("response_type") == "ephemeral" for r in result.responses)
    assert listed(harness) == ["U2"]
    # nothing was posted, opened or published for anyone: Bob learns nothing
    assert not [c for c in slack.calls() if c.method not in ("auth.test", "users.info")]

    assert "already on your list" in harness.command("avoid <@U2>", user="U1").text
    harness.command("avoid <@U3> <@U4|dee>", user="U1")
    assert "<@U2>, <@U3> and <@U4>" in harness.command("avoid list", user="U1").text
    assert "empty" in harness.command("avoid list", user="U2").text  # Bob's own list

    assert "can be grouped with you again" in harness.command("unavoid <@U3>", user="U1").text
    assert "was not on your list" in harness.command("unavoid <@U3>", user="U1").text
    assert listed(harness) == ["U2", "U4"]


@pytest.mark.parametrize(
    "text, says",
    [
        ("avoid bob", "I can't tell who `bob` is"),
        ("avoid @bob", "I can't tell who `@bob` is"),
        ("unavoid", "Name the person"),
        ("avoid <@U1>", "there's no need to avoid yourself"),
        ("avoid <@U2> <@UNOPE>", "I can't find `UNOPE` in this workspace"),  # nobody added
        ("avoid <@USLACKBOT>", "is a bot; bots don't go to lunch"),
    ],
)
def test_malformed_avoids_are_answered_and_store_nothing(harness, text, says):
    before = snapshot(harness.settings)
    result = harness.command(text, user="U1")
    assert result.status == 200 and says in result.text
    assert snapshot(harness.settings) == before
    assert listed(harness) == []


def test_the_list_has_a_limit_that_says_what_to_do(harness, slack):
    for user in [f"UX{i:03d}" for i in range(avoids.MAX_AVOIDED)] + ["UY001"]:
        slack.add_user("T1", user)
    mentions = " ".join(f"<@UX{i:03d}>" for i in range(avoids.MAX_AVOIDED))
    first = harness.command(f"avoid {mentions}", user="U1")
    assert len(listed(harness)) == avoids.MAX_AVOIDED, first.text
    result = harness.command("avoid <@UY001>", user="U1")
    assert "full" in result.text and "/meet unavoid" in result.text
    assert "UY001" not in listed(harness)


def test_rounds_never_group_someone_with_a_person_they_avoid(harness, slack, settings):
    slack.add_member("T1", "C1", "UBOT")
    harness.command("avoid <@U2>", user="U1")
    harness.command("avoid <@U1>", user="U4")  # someone else avoids U1 too
    program_id = make_program(settings, "C1")
    start = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    groups = []
    for week in range(5):  # more rounds than there are fresh pairs: repeats, never these two
        with freeze_time(start + dt.timedelta(weeks=week)):
            rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        from bot.storage.models import Group

        groups = [sorted(m.user_id for m in g.members) for g in session.query(Group)]
    assert len(groups) >= 5
    for members in groups:
        assert not {"U1", "U2"} <= set(members) and not {"U1", "U4"} <= set(members), members
    intros = [m for m in slack.messages()
              if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT]  # fmt: skip
    assert len(intros) == len(groups)
    assert not any("avoid" in (m.text + json.dumps(m.blocks)).lower() for m in intros)


def test_the_home_tab_shows_only_your_own_list_and_its_picker_replaces_it(harness, slack):
    make_program(harness.settings, "C1")
    harness.command("avoid <@U2>", user="U1")
    mine = avoid_block(open_home(harness, "U1"))
    assert mine["accessory"]["type"] == "multi_users_select"
    assert mine["accessory"]["initial_users"] == ["U2"]
    assert "nobody else can see this list" in mine["text"]["text"]
    theirs = avoid_block(open_home(harness, "U2"))
    assert "initial_users" not in theirs["accessory"]  # Bob's Home says nothing of U1's list
    assert "U1" not in json.dumps(open_home(harness, "U2"))

    harness.click(home.AVOID, "U3,U4", user="U1", from_home=True, action_type="multi_users_select")
    assert listed(harness) == ["U3", "U4"]
    view = harness.slack.home_view("T1", "U1")
    assert avoid_block(view)["accessory"]["initial_users"] == ["U3", "U4"]
    assert "<@U3> and <@U4>" in text_of(view)
    harness.click(home.AVOID, "", user="U1", from_home=True, action_type="multi_users_select")
    assert listed(harness) == []


def test_admins_see_how_many_keep_a_list_and_nothing_more(harness):
    make_program(harness.settings, "C1")
    harness.command("avoid <@U2> <@U3>", user="U1")
    harness.command("avoid <@U1>", user="U4")
    stats = harness.command("stats", user="UADMIN", channel="C1").text
    assert "2 people keep a private avoid list" in stats
    assert not any(f"<@{u}>" in stats for u in ("U1", "U2", "U3", "U4"))
    admin_home = json.dumps(open_home(harness, "UADMIN"))
    assert "U2" not in admin_home and "U3" not in admin_home


def test_forget_me_removes_the_persons_own_list_and_leaves_others(harness):
    harness.command("avoid <@U2>", user="U1")
    harness.command("avoid <@U1>", user="U4")
    harness.click(home.FORGET_ME, "yes", user="U1")
    with harness.session() as session:
        rows = [(a.user_id, a.avoided_id) for a in session.query(Avoid)]
    assert rows == [("U4", "U1")]  # U4's wish is U4's own, and still holds


def test_after_real_rounds_nobody_but_the_owner_ever_sees_a_trace_of_an_avoid_list(
    harness, slack, settings
):
    slack.add_member("T1", "C1", "UBOT")
    harness.command("avoid <@U2>", user="U1")
    program_id = make_program(settings, "C1", post_summary=True)
    play_rounds(settings, program_id, weeks=2)
    everyone = ["UADMIN", "U1", "U2", "U3", "U4"]
    answers = {u: harness.command(c, user=u).text for u in everyone for c in ("status", "history")}
    homes = {u: open_home(harness, u) for u in everyone}

    def traces(payload) -> bool:
        text = json.dumps(payload).lower()
        return "avoid" in text or "rather not" in text or "initial_users" in text

    assert slack.messages() and not any(traces([m.text, m.blocks]) for m in slack.messages())
    assert not any(traces(text) for text in answers.values())
    for user, view in homes.items():
        listed_here = avoid_block(view)["accessory"].get("initial_users")
        assert listed_here == (["U2"] if user == "U1" else None), user
        others = [b for b in view["blocks"] if b.get("block_id") != "avoid"]
        assert not traces(others), user
