"""Levels stay private: the leak check other surfaces' tests use, and level-free intros."""

import json

import pytest

from bot.common.privacy import assert_no_level_leak, describe_mix, find_level_leaks
from bot.storage.models import Member

LEVELS = {"U1": 3, "U2": 7, "U3": 5}


def section(text):
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def intro(*texts, **extra):
    return {"channel": "G1", "text": texts[0], "blocks": [section(t) for t in texts], **extra}


def test_a_clean_intro_passes():
    message = intro(
        "Meet <@U1>, <@U2> and <@U3>: different corners of the company: Finance and Design.",
        "<@U2> organises. Lunch on Thursday at 12:30? Starter: what did you want to be at 7?",
    )
    assert find_level_leaks(message, levels=LEVELS) == []
    assert_no_level_leak(message, levels=LEVELS)


@pytest.mark.parametrize(
    "text",
    [
        "Meet <@U1> (level 3) and <@U2> (level 7)",
        "<@U2> is *Level:* 7",
        "Seniority: 5 meets seniority 2",
        "a L7 and a L3 walk into a bar",
        "Niveau 4 rencontre niveau 8",
        "Grade-6",
    ],
)
def test_levels_written_out_in_a_group_message_are_leaks(text):
    leaks = find_level_leaks(intro(text))
    assert [leak.where for leak in leaks][-1] == "$.blocks[0]"
    with pytest.raises(AssertionError, match="levels shown to the wrong people"):
        assert_no_level_leak(intro(text))


def test_the_fallback_text_is_checked_too():
    leaks = find_level_leaks({"text": "<@U1> is level 3", "blocks": [section("Hi")]})
    assert [leak.where for leak in leaks] == ["$.text"]


def test_a_bare_number_next_to_a_mention_is_a_leak_when_levels_are_known():
    message = {"blocks": [section("Your group: <@U1> (3) and <@U2> · 7")]}
    leaks = find_level_leaks(message, levels=LEVELS)
    assert sorted(leak.text for leak in leaks) == ["<@U1> (3", "<@U2> · 7"]
    assert find_level_leaks(intro("<@U1>, 3 of you this week"), levels={"U1": 4}) == []


def test_levels_hidden_in_data_are_leaks():
    button = {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "pick",
                "text": {"type": "plain_text", "text": "Pick"},
                "value": json.dumps({"user": "U2", "level": 7}),
            }
        ],
    }
    view = {
        "type": "home",
        "blocks": [button],
        "private_metadata": json.dumps({"users": ["U2", "U3"], "levels": [7, 5]}),
    }
    leaks = find_level_leaks(view, viewer="U1")
    assert [leak.where for leak in leaks] == ["$.blocks[0]", "$.private_metadata"]


def test_the_viewer_may_see_their_own_level_but_not_anyone_elses():
    home = {
        "type": "home",
        "blocks": [
            section("*Your level:* 3 (set by an admin)"),
            section("This round you meet <@U2>. Enjoy!"),
        ],
    }
    assert find_level_leaks(home, viewer="U1", levels=LEVELS) == []
    shown_to_u2 = {"type": "home", "blocks": [section("<@U1> has level 3")]}
    leaks = find_level_leaks(shown_to_u2, viewer="U2", levels=LEVELS)
    assert len(leaks) == 1 and leaks[0].reason == "level written out (shown with U1)"
    # Without a viewer (several people see it) even "your level" is a leak.
    assert find_level_leaks({"blocks": [section("*Your level:* 3")]}) != []


def test_rich_text_mentions_count_as_mentions():
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "user", "user_id": "U2"},
                    {"type": "text", "text": " level 7"},
                ],
            }
        ],
    }
    assert len(find_level_leaks({"blocks": [block]}, viewer="U1")) == 1


def test_numbers_that_are_not_levels_pass():
    message = intro(
        "Round 3 of 2025: 12 groups, 25 people, 4 did not answer.",
        "Level up your lunch: meet at 12:30 on 2025-03-07; the next level 10 is a joke",
        "Stats: <@U1> met 3 people",
    )
    assert find_level_leaks(message, levels={"U1": 5}) == []


def test_a_string_or_a_list_of_blocks_can_be_checked():
    assert find_level_leaks("plain level 4 text")
    assert find_level_leaks([section("ok"), section("lvl 2")])[0].where == "$[1]"
    assert find_level_leaks([]) == []


def member(level=None, department=None):
    return Member(team_id="T1", user_id="U", level=level, department=department)


@pytest.mark.parametrize(
    "group, expected",
    [
        (
            [member(2, "Finance"), member(8, "Design")],
            "different corners of the company: Finance and Design",
        ),
        (
            [member(4, "Finance"), member(5, "Design"), member(None, "Legal")],
            "different corners of the company: Finance, Design and Legal",
        ),
        (
            [member(1, "Sales"), member(9, "sales")],
            "the same corner of the company (Sales), and still might not have had lunch together",
        ),
        (
            [member(4, "Sales"), member(5, "Sales")],
            "the same corner of the company (Sales), and still might not have had lunch together",
        ),
        (
            [member(1), member(7)],
            "parts of the company that might not otherwise cross paths",
        ),
        ([member(), member()], "parts of the company that might not otherwise cross paths"),
        (
            [{"level": 3, "department": "Ops"}, {"level": 3}],
            "parts of the company that might not otherwise cross paths",
        ),
    ],
)
def test_describe_mix_says_why_without_numbers(group, expected):
    phrase = describe_mix(group)
    assert phrase == expected
    assert not any(ch.isdigit() for ch in phrase)
    assert_no_level_leak(intro(f"You come from {phrase}."))


@pytest.mark.parametrize("departments", [("Sales", "Legal"), ("Sales", "Sales"), (None, None)])
def test_why_a_pair_meets_says_nothing_that_follows_from_their_levels(departments):
    """A phrase said only of a wide gap told each of a pair where the other's level lies
    ("at different stages of your careers": three levels or more from their own)."""
    said = {describe_mix([member(own, departments[0]), member(other, departments[1])])
            for own in range(1, 10) for other in [*range(1, 10), None]}  # fmt: skip
    assert len(said) == 1, said


def test_describe_mix_never_says_who_is_more_senior():
    for low in range(1, 10):
        for high in range(1, 10):
            phrase = describe_mix([member(low, "A"), member(high, "B")]).lower()
            assert not any(
                word in phrase for word in ("senior", "junior", "level", "higher", "lower")
            )
