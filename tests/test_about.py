""""Ask me about": a person's own line in their intros, from `/meet about` or the Home tab;
shown as the plain text it is, only to the people in their groups, and gone with forget-me."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from freezegun import freeze_time
from test_home import open_home
from test_meet_harness import make_program, open_harness, snapshot

from bot.domain.services import people, rounds
from bot.edge import home
from bot.slack import round_messages
from bot.storage.models import Group


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def about_of(harness, user: str) -> str | None:
    with harness.session() as session:
        person = people.member(session, "T1", user, create=False)
        return person.about if person else None


def intros(slack) -> list:
    return [m for m in slack.messages()
            if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT]  # fmt: skip


def test_set_show_and_clear_with_meet_about(harness):
    assert "no \"ask me about\" line yet" in harness.command("about", user="U1").text
    result = harness.command("about 20 years of studio history &amp; sourdough", user="U1")
    assert "Ask <@U1> about: 20 years of studio history &amp; sourdough" in result.text
    assert about_of(harness, "U1") == "20 years of studio history & sourdough"  # stored plain
    assert "20 years of studio history &amp; sourdough" in harness.command("about", user="U1").text
    assert "won't have" in harness.command("about clear", user="U1").text
    assert about_of(harness, "U1") is None


@pytest.mark.parametrize(
    "text, says",
    [
        ("about <@U2> knows everything", "mentions, channels and links can't be used"),
        ("about <https://evil.example|payroll>", "mentions, channels and links can't be used"),
        ("about " + "x" * 151, "151 characters long: keep it to 150"),
    ],
)
def test_markup_and_long_lines_are_refused_and_store_nothing(harness, text, says):
    before = snapshot(harness.settings)
    result = harness.command(text, user="U1")
    assert result.status == 200 and says in result.text and "/meet about" in result.text
    assert snapshot(harness.settings) == before


def test_the_line_is_in_the_persons_intros_only_escaped_and_not_in_the_channel(
    harness, slack, settings
):
    slack.add_member("T1", "C1", "UBOT")
    harness.command("about &lt;!channel&gt; and *bold* claims", user="U1")  # typed as text
    program_id = make_program(settings, "C1", post_summary=True)
    with freeze_time(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with freeze_time(dt.datetime(2026, 6, 8, 12, 1, tzinfo=dt.UTC)):
        rounds.close_due_rounds(settings, rounds.utcnow())
    with harness.session() as session:
        mine = next(g.id for g in session.query(Group) if "U1" in [m.user_id for m in g.members])
    line = "Ask <@U1> about: &lt;!channel&gt; and ∗bold∗ claims"  # not made bold
    for message in intros(slack):
        shown = json.dumps(message.blocks)
        group = message.metadata["event_payload"]["group_id"]
        assert (line in json.loads(shown)[1]["text"]["text"]) == (group == mine), message.blocks
        assert "<!channel>" not in shown
    others = [m for m in slack.messages() if m not in intros(slack)]
    assert others and not any("studio" in (m.text or "") or "claims" in json.dumps(
        [m.text, m.blocks]) for m in others)  # fmt: skip


def test_the_home_tab_field_saves_what_was_typed_as_plain_text(harness):
    make_program(harness.settings, "C1")
    field = next(b for b in open_home(harness, "U1")["blocks"] if b.get("block_id") == "about")
    assert field["dispatch_action"] and field["element"]["max_length"] == 150
    harness.click(home.ABOUT, "  bread <b>baking</b> ", user="U1", from_home=True,
                  action_type="plain_text_input")  # fmt: skip
    assert about_of(harness, "U1") == "bread <b>baking</b>"  # a "<" typed there is a character
    view = harness.slack.home_view("T1", "U1")
    field = next(b for b in view["blocks"] if b.get("block_id") == "about")
    assert field["element"]["initial_value"] == "bread <b>baking</b>"
    assert "Ask <@U1> about: bread &lt;b&gt;baking&lt;/b&gt;" in json.dumps(view)
    harness.click(home.ABOUT, "", user="U1", from_home=True, action_type="plain_text_input")
    assert about_of(harness, "U1") is None


def test_forget_me_removes_the_line(harness):
    harness.command("about sourdough", user="U1")
    harness.click(home.FORGET_ME, "yes", user="U1")
    assert about_of(harness, "U1") is None
