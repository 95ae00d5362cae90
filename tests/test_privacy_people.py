"""What people share of themselves stays with whom it is meant for, on every message and view
of real rounds: an avoid list with its owner, an "ask me about" line with the owner's lunch
groups, a thank-you note with the others of that group."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_home import open_home
from test_meet_harness import make_program, open_harness, play_rounds

from bot.domain.services import rounds
from bot.slack import round_messages
from bot.storage.models import Group

EVERYONE = ["UADMIN", "U1", "U2", "U3", "U4"]
ABOUT = "sourdough secrets"
NOTE = "noodle gratitude"


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def test_shared_things_reach_only_their_people_on_every_surface(harness, slack, settings):
    slack.add_member("T1", "C1", "UBOT")
    harness.command("avoid <@U2>", user="U1")
    harness.command(f"about {ABOUT}", user="U3")
    program_id = make_program(settings, "C1", post_summary=True)
    play_rounds(settings, program_id, weeks=2)
    with harness.session() as session:
        groups = {g.id: (g.conversation_id, [m.user_id for m in g.members])
                  for g in session.scalars(select(Group))}  # fmt: skip
    # U3 thanks their first group
    first = next(g for g, (_, members) in sorted(groups.items()) if "U3" in members)
    assert rounds.record_checkin(settings, "T1", first, "U3", "met")
    harness.submit(round_messages.THANKS_CALLBACK, {"note": {"value": NOTE}}, str(first),
                   user="U3")  # fmt: skip
    answers = {
        (user, command): json.dumps(harness.command(command, user=user).responses)
        for user in EVERYONE for command in ("status", "history", "avoid list", "about")
    }  # fmt: skip
    homes = {user: open_home(harness, user) for user in EVERYONE}

    conversations = {conversation: set(members) for conversation, members in groups.values()}
    with_u3 = set().union(*(m for m in conversations.values() if "U3" in m))
    note_readers = set(groups[first][1]) - {"U3"}

    def viewers(message) -> set[str]:
        if message.to_user:
            return {message.to_user}
        if message.channel in conversations:
            return conversations[message.channel]
        if message.channel in EVERYONE:
            return {message.channel}
        dm = {u for u in EVERYONE if slack.conversation_id("T1", [u]) == message.channel}
        return dm or set(EVERYONE)  # a channel: everyone

    posted = slack.messages()
    assert any(NOTE in m.text for m in posted) and any(ABOUT in json.dumps(m.blocks) for m in posted)
    for message in posted:
        shown = json.dumps([message.text, message.blocks])
        seen_by = viewers(message)
        assert "avoid" not in shown.lower() or seen_by == {"U1"}, message
        if ABOUT in shown:
            assert seen_by <= with_u3, message
        if NOTE in shown:
            assert seen_by <= note_readers, message
    for user, view in homes.items():
        shown = json.dumps(view)
        assert ("initial_users" in shown) == (user == "U1"), user
        assert (ABOUT in shown) == (user == "U3"), user  # their own field, nobody else's
        assert NOTE not in shown
    for (user, command), shown in answers.items():
        assert NOTE not in shown
        assert ("<@U2>" in shown and command == "avoid list") <= (user == "U1"), (user, command)
        assert (ABOUT in shown) <= (user == "U3"), (user, command)
