"""Arbitrary text thrown at /meet through Bolt: always a prompt, private answer, never a
crash or a stack trace, and nothing stored when the command is rejected."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_meet_harness import make_program, open_harness, snapshot

from bot.edge import meet_command
from bot.edge.meet_command import UsageError

TODAY = dt.date.today()


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def rejected(text: str) -> bool:
    try:
        meet_command.parse(text, TODAY - dt.timedelta(days=1))
    except UsageError:
        return True
    return False


fuzz = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

words = st.sampled_from(
    ["pause", "until", "weeks", "level", "size", "schedule", "weekly", "mon", "12:00", "UTC",
     "admins", "add", "<@U1>", "<@UNOBODY>", "department", "location", "history", "9", "0",
     "&lt;", "<!here>", "`", "*", "\u202e", "🍜", "payload", "payload=", "{"]
)  # fmt: skip


@fuzz
@given(st.one_of(st.text(max_size=200), st.lists(words, max_size=5).map(" ".join)))
def test_any_text_gets_a_private_answer_and_a_rejected_one_stores_nothing(harness, text):
    if not hasattr(harness, "program"):
        harness.program = make_program(harness.settings, "C1")
    before = snapshot(harness.settings) if rejected(text) else None
    result = harness.command(text, user="U1", channel="C1")
    assert result.status == 200
    assert result.text.strip(), "every command gets an answer"
    assert "Traceback" not in result.text and "Error" not in result.text
    assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in result.responses)
    if before is not None:
        assert result.responses == []
        assert snapshot(harness.settings) == before


@pytest.mark.parametrize(
    "text",
    ["x" * 4000, "level " + "9" * 4000, "department " + "é" * 3990, "\x00\x01\x02", "🍜" * 1000],
)
def test_huge_and_strange_input(harness, text):
    before = snapshot(harness.settings)
    result = harness.command(text, user="UADMIN", channel="C1")
    assert result.status == 200 and 0 < len(result.text) < 500
    assert snapshot(harness.settings) == before
