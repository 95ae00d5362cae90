"""Text people type is shown as text: whatever someone puts in a department or location
(through /meet, an admin's /meet, an HR import or their Slack profile), no message or view
of a real round mentions anyone, pings a channel or a group, or links anywhere because of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_meet_harness import make_program, open_harness

from bot.common.csvfile import InputError
from bot.domain.levels.admin import map_fields
from bot.domain.levels.importer import import_levels
from bot.domain.services import rounds
from bot.domain.services.workspaces import client_for_team
from bot.edge.meet_command import parse_name
from bot.slack.texts import as_slack_sends, escape, unescape_slack
from bot.storage.models import Member

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
PEOPLE = ("UADMIN", "U1", "U2", "U3", "U4", "U5")
# Everything the app itself may write between < and >: people of the workspace, the
# program's channel, and Slack's date formatting.
_PEOPLE = "|".join(PEOPLE)
OWN_MARKUP = re.compile(rf"^(?:@(?:{_PEOPLE})|#C1|!date\^\d+\^[^<>|]*\|[^<>]*)$")
ENTITY = re.compile(r"<([^<>]*)>")
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@UEVIL>",
    "<@UEVIL|boss>",
    "<#CEVIL>",
    "<#CEVIL|general>",
    "<!subteam^S0EVIL>",
    "<!subteam^S0EVIL|@admins>",
    "<https://evil.example/login|Payroll: re-enter password>",
    "<http://evil.example>",
    "<mailto:ceo@evil.example|CEO>",
    "&lt;!channel&gt;",
    "&amp;",
    "&",
    "<",
    ">",
    "*bold*",
    "`code`",
    "<<!here>>",
]


def foreign_markup(payload) -> list[str]:
    """Every <…> in the strings of a message or view that the app did not write itself."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, str):
            found.extend(e for e in ENTITY.findall(value) if not OWN_MARKUP.match(e))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(payload)
    return found


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def hr_import(harness, rows: list[tuple[str, str, str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user_id", "department", "location"])
    writer.writerows(rows)
    client = client_for_team(harness.settings, "T1")
    with harness.session() as session:
        try:
            import_levels(client, session, "T1", "hr.csv", data=out.getvalue().encode())
        except InputError:
            pass  # a file the import refuses changes nothing; the round still runs


def everything_shown(harness, slack, since: int, answers: list) -> list:
    """Each message, ephemeral, response and view the people saw since call number `since`."""
    shown: list = list(answers)
    for call in slack.calls()[since:]:
        if call.method.startswith(("chat.", "views.")):
            shown.append(call.args)
    shown += slack.responses()
    shown += slack.views()
    return shown


def a_round_with(harness, slack, texts: list[str]) -> list:
    """People set their department and location to `texts` in every way they can, then a
    round runs, is checked in on and closed, and they look at /meet status and Home."""
    harness.allow_errors = False
    week = getattr(harness, "week", 0)
    harness.week = week + 1
    if not hasattr(harness, "program"):
        slack.add_member("T1", "C1", "UBOT")
        slack.add_member("T1", "C1", "U5")
        slack.set_profile_fields("T1", [{"id": "Xf2", "label": "Department"}])
        with harness.session() as session:
            map_fields(session, "T1", client_for_team(harness.settings, "T1"),
                       department="Department")  # fmt: skip
        harness.program = make_program(harness.settings, "C1", post_summary=True)
    since = len(slack.calls())
    one, two, three, four = (texts * 4)[:4]
    answers = []
    for user, attribute, text in (
        ("U1", "department", one),
        ("U1", "location", two),
        ("U2", "department", three),
        ("UADMIN", "department <@U4|dee>", four),
        ("UADMIN", "location <@U3|cy>", one),
        ("U1", "", two),  # echoed back in "I don't know `/meet …`"
        ("U1", "pause until", three),
        ("UADMIN", "schedule weekly mon 12:00", four),
        ("UADMIN", "admins add", one),
    ):
        result = harness.command(f"{attribute} {as_slack_sends(text)}".strip(), user=user)
        answers += [result.ack, *result.responses]
    hr_import(harness, [("U2", "", three), ("U3", two, ""), ("UADMIN", four, one)])
    slack.update_user("T1", "U5", profile_fields={"Xf2": three})  # read at the round
    start = START + dt.timedelta(weeks=week)
    with freeze_time(start):
        rounds.run_round(harness.settings, harness.program, slot=rounds.utcnow())
    with freeze_time(start + dt.timedelta(days=3, minutes=1)):
        rounds.send_due_checkins(harness.settings, rounds.utcnow())
        for user in PEOPLE:
            result = harness.command("status", user=user)
            answers += [result.ack, *result.responses]
            harness.event({"type": "app_home_opened", "user": user, "tab": "home"})
    with freeze_time(start + dt.timedelta(days=6, minutes=1)):
        rounds.close_due_rounds(harness.settings, rounds.utcnow())
    return everything_shown(harness, slack, since, answers)


fuzz = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6))
hostile_text = st.one_of(
    st.lists(pieces, min_size=1, max_size=5).map("".join), st.text(min_size=1, max_size=40)
)


@fuzz
@given(st.lists(hostile_text, min_size=1, max_size=4))
@example(["<!channel>", "<https://evil.example/login|Payroll: re-enter password>",
          "<@UEVIL> <!subteam^S0EVIL>", "R&D <#CEVIL>"])  # fmt: skip
@example(["<!channel>", "<!channel>", "\x00"])  # a NUL in a profile field, on PostgreSQL
def test_nothing_anyone_types_becomes_a_mention_a_ping_or_a_link(harness, slack, texts):
    shown = a_round_with(harness, slack, texts)
    assert any("You come from" in json.dumps(s) for s in shown), "an intro was sent"
    leaked = foreign_markup(shown)
    assert leaked == [], f"markup from people's text reached Slack: {leaked[:5]}"


def test_formatting_anyone_types_is_shown_as_typed_not_applied(harness, slack):
    """mrkdwn has no escape for *bold*, _italics_, ~strike~ or `code`: what people type
    reaches the others with look-alike marks, never formatted."""
    typed = ["*Payroll*", "_Design_", "~kitchen~ `now`"]
    harness.command(f"about {as_slack_sends('*FREE PIZZA* in the ~kitchen~')}", user="U1")
    texts: list[str] = []  # what Slack renders: every string but an input's own value

    def walk(value, key=None):
        if isinstance(value, str) and key not in ("initial_value", "value"):
            texts.append(value)
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)

    walk(a_round_with(harness, slack, typed))
    shown = "\n".join(texts)
    assert "Ask <@U1> about: ∗FREE PIZZA∗ in the ∼kitchen∼" in shown
    assert "∗Payroll∗" in shown and "ˍDesignˍ" in shown and "ˋnowˋ" in shown
    for text in [*typed, "*FREE PIZZA*", "~kitchen~", "`now`"]:
        assert text not in shown, text
    with harness.session() as session:  # stored as typed
        about = session.scalar(select(Member.about).where(Member.user_id == "U1"))
    assert about == "*FREE PIZZA* in the ~kitchen~"


@pytest.mark.parametrize(("typed", "shown"), [
    ("lunch_club", "lunch_club"), ("NYC_HQ", "NYC_HQ"), ("R_and_D", "R_and_D"),
    ("_Design_", "ˍDesignˍ"), ("a _b_ c", "a ˍbˍ c"), ("*x*", "∗x∗"), ("~x~ `y`", "∼x∼ ˋyˋ"),
])  # fmt: skip
def test_only_marks_that_could_format_are_shown_as_look_alikes(typed, shown):
    """An underscore inside a word formats nothing in mrkdwn: a channel or an office called
    lunch_club or NYC_HQ is shown as it is named, and can be typed back."""
    assert escape(typed) == shown


def test_a_department_is_stored_as_typed_and_shown_as_typed(harness, slack):
    shown = a_round_with(harness, slack, ["R&D <!channel>", "Payroll <https://evil.example|x>"])
    with harness.session() as session:
        departments = {
            m.user_id: m.department
            for m in session.scalars(select(Member).where(Member.team_id == "T1"))
        }
    assert departments["U1"] == "R&D <!channel>"
    intros = [
        b["text"]["text"]
        for m in slack.messages()
        for b in (m.blocks or [])[:1]
        if "You come from" in b.get("text", {}).get("text", "")
    ]
    assert any("R&amp;D &lt;!channel&gt;" in text for text in intros), intros
    status = [s for s in shown if isinstance(s, dict) and "R&amp;D" in json.dumps(s)]
    assert status, "/meet status shows the department, escaped once"
    assert not any("&amp;amp;" in json.dumps(s) for s in shown), "escaped twice"


@pytest.mark.parametrize(
    ("sent", "meant"),
    [
        ("&lt;!channel&gt;", "<!channel>"),
        ("R&amp;D", "R&D"),
        ("&amp;lt;", "&lt;"),
        ("Caf&amp;eacute;", "Caf&eacute;"),
        ("a &amp;amp; b", "a &amp; b"),
    ],
)
def test_slacks_escaping_is_undone_exactly_once(sent, meant):
    assert unescape_slack(sent) == meant
    assert parse_name(sent, "department") == meant
    assert unescape_slack(escape(meant)) == meant


@pytest.mark.parametrize(
    ("typed", "echoed"),
    [("R&D<x>", "R&amp;D&lt;x&gt;"), ("&lt;", "&amp;lt;"), ("a>b", "a&gt;b")],
)
def test_words_echoed_back_are_escaped_exactly_once(harness, typed, echoed):
    result = harness.command(as_slack_sends(typed), user="U1")
    assert f"I don't know `/meet {echoed}`" in result.ack_text, result.ack_text


def test_markup_slack_made_is_echoed_as_text(harness):
    result = harness.command("dance <!channel> <@UEVIL|boss>", user="U1")
    assert "I don't know `/meet dance`" in result.ack_text
    result = harness.command("pause until <!here>", user="U1")
    assert "`&lt;!here&gt;` is not a date" in result.ack_text, result.ack_text
