"""Levels stay private on every surface a person sees: after real rounds, nothing posted in
a group DM or channel shows a level, and no one's /meet status, /meet history or Home tab
shows anyone else's."""

from __future__ import annotations

import pytest
from test_meet_harness import make_program, open_harness, play_rounds

from bot.common.privacy import assert_no_level_leak, find_level_leaks
from bot.domain.levels.sources import set_value

PEOPLE = {"UADMIN": (9, "Board"), "U1": (1, "Support"), "U2": (8, "Finance"),
          "U3": (2, "Design"), "U4": (7, "Engineering")}
LEVELS = {user: level for user, (level, _) in PEOPLE.items()}


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def after_two_rounds(harness, slack, settings):
    slack.add_member("T1", "C1", "UBOT")
    with harness.session() as session:
        for user, (level, department) in PEOPLE.items():
            set_value(session, "T1", user, "level", level, "admin")
            set_value(session, "T1", user, "department", department, "admin")
    program_id = make_program(settings, "C1", post_summary=True)
    play_rounds(settings, program_id, weeks=2)
    return harness


def test_nothing_posted_by_a_round_shows_a_level(after_two_rounds, slack):
    direct = {slack.conversation_id("T1", [u]): u for u in PEOPLE}
    posted = slack.messages()
    assert any("You come from different corners" in (m.blocks or [{}])[0]["text"]["text"]
               for m in posted if m.blocks)
    assert any("lunch groups formed" in m.text for m in posted if m.channel == "C1")
    for message in posted:
        payload = {"text": message.text, "blocks": message.blocks or []}
        assert_no_level_leak(payload, viewer=direct.get(message.channel), levels=LEVELS)


@pytest.mark.parametrize("user", ["U1", "U2", "U3", "U4"])
def test_a_members_status_history_and_home_show_no_one_elses_level(after_two_rounds, slack, user):
    harness = after_two_rounds
    for command in ("status", "history"):
        result = harness.command(command, user=user)
        assert result.status == 200 and result.text
        shown = [result.ack] + result.responses
        assert_no_level_leak([r for r in shown if r], viewer=user, levels=LEVELS)
    harness.event({"type": "app_home_opened", "user": user, "tab": "home"})
    harness.executor.drain()
    view = slack.home_view("T1", user)
    assert view is not None and "<@" in str(view)  # it does show whom they met
    assert_no_level_leak(view, viewer=user, levels=LEVELS)


def test_the_checker_would_notice_a_leak_on_these_surfaces(after_two_rounds, slack):
    """The same check flags a view that names someone else's level, so the tests above bite."""
    after_two_rounds.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    after_two_rounds.executor.drain()
    view = slack.home_view("T1", "U1")
    assert find_level_leaks(view, viewer="U1", levels=LEVELS) == []
    leaked = {**view, "blocks": [*view.get("blocks", []),
                                 {"type": "section", "text": {"type": "mrkdwn",
                                                              "text": "<@U2> (8)"}}]}
    assert find_level_leaks(leaked, viewer="U1", levels=LEVELS)
