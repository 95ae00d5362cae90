"""One resolution function for every writer: precedence, clearing, validation, storage."""

import pytest
from sqlalchemy import select

from bot.domain.levels.sources import (
    PRECEDENCE,
    InvalidValue,
    clear_value,
    member_for,
    parse_level,
    resolve,
    self_service_allowed,
    set_value,
    visible_level,
)
from bot.storage.db import session_scope
from bot.storage.models import Member, Program


def load(url, user_id="U1", team_id="T1") -> Member:
    with session_scope(url) as session:
        return session.scalar(
            select(Member).where(Member.team_id == team_id, Member.user_id == user_id)
        )


def test_precedence_order_is_admin_import_profile_self_title():
    assert PRECEDENCE == ("admin", "import", "profile", "self", "title")


def test_each_source_wins_over_the_ones_below_it(migrated_url):
    # Added lowest first: each new source takes over.
    for level, source in zip((2, 3, 4, 5, 6), reversed(PRECEDENCE), strict=True):
        with session_scope(migrated_url) as session:
            result = set_value(session, "T1", "U1", "level", level, source)
        assert (result.value, result.source, result.changed) == (level, source, True)
        member = load(migrated_url)
        assert (member.level, member.sources["level"]) == (level, source)
    assert load(migrated_url).values == {
        "level": {"title": 2, "self": 3, "profile": 4, "import": 5, "admin": 6}
    }
    # Removed highest first: the next one down takes over, then nothing is known.
    for source, expected in zip(PRECEDENCE, (5, 4, 3, 2, None), strict=True):
        with session_scope(migrated_url) as session:
            clear_value(session, "T1", "U1", "level", source)
        member = load(migrated_url)
        assert member.level == expected
        assert member.sources.get("level") == (source_below(source) if expected else None)
    assert load(migrated_url).values == {}


def source_below(source):
    return PRECEDENCE[PRECEDENCE.index(source) + 1]


def test_a_lower_source_does_not_override_but_is_kept(migrated_url):
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "level", 7, "admin")
        result = set_value(session, "T1", "U1", "level", 3, "self")
        assert (result.changed, result.value, result.source) == (True, 7, "admin")
        set_value(session, "T1", "U1", "department", "Finance", "import")
        set_value(session, "T1", "U1", "department", "Money", "self")
        set_value(session, "T1", "U1", "location", "Berlin", "profile")
    member = load(migrated_url)
    assert (member.level, member.department, member.location) == (7, "Finance", "Berlin")
    assert member.sources == {"level": "admin", "department": "import", "location": "profile"}
    assert member.values["level"] == {"admin": 7, "self": 3}
    assert member.values["department"] == {"import": "Finance", "self": "Money"}


def test_writing_the_same_value_again_changes_nothing(migrated_url):
    with session_scope(migrated_url) as session:
        assert set_value(session, "T1", "U1", "department", " Finance ", "import").changed
    with session_scope(migrated_url) as session:
        assert not set_value(session, "T1", "U1", "department", "Finance", "import").changed
        assert not clear_value(session, "T1", "U1", "location", "import").changed
        assert not clear_value(session, "T1", "U9", "level", "admin").changed
    assert load(migrated_url, "U9") is None


def test_empty_text_clears_and_whitespace_is_collapsed(migrated_url):
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "location", "  New   York ", "admin")
    assert load(migrated_url).location == "New York"
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "location", "   ", "admin")
    assert load(migrated_url).location is None


@pytest.mark.parametrize("bad", [0, 10, -1, "abc", "5.5", "", "1e3", True])
def test_levels_outside_1_to_9_are_refused_before_anything_is_written(migrated_url, bad):
    with session_scope(migrated_url) as session, pytest.raises(InvalidValue) as error:
        set_value(session, "T1", "U1", "level", bad, "self")
    assert "whole number from 1 to 9" in str(error.value)
    assert load(migrated_url) is None


def test_parse_level_accepts_whole_numbers_from_text():
    assert parse_level(" 7 ") == 7
    assert parse_level("+3") == 3
    assert parse_level(9) == 9


def test_unknown_sources_attributes_and_overlong_text_are_refused(migrated_url):
    with session_scope(migrated_url) as session:
        with pytest.raises(ValueError):
            set_value(session, "T1", "U1", "level", 3, "hr")
        with pytest.raises(ValueError):
            set_value(session, "T1", "U1", "salary", 3, "admin")
        with pytest.raises(ValueError):
            set_value(session, "T1", "U1", "department", "Finance", "title")
        with pytest.raises(InvalidValue):
            set_value(session, "T1", "U1", "department", "x" * 201, "admin")


def test_teams_are_kept_apart(migrated_url):
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "level", 2, "admin")
        set_value(session, "T2", "U1", "level", 8, "admin")
    assert load(migrated_url, team_id="T1").level == 2
    assert load(migrated_url, team_id="T2").level == 8


def test_member_for_makes_one_row_however_often_it_is_called(migrated_url):
    with session_scope(migrated_url) as session:
        first = member_for(session, "T1", "U1")
        again = member_for(session, "T1", "U1")
        assert first is again
        assert member_for(session, "T1", "U2", create=False) is None
    with session_scope(migrated_url) as session:
        assert member_for(session, "T1", "U1").id == first.id
        assert len(session.scalars(select(Member)).all()) == 1


def test_resolve_recomputes_winners_from_values(migrated_url):
    with session_scope(migrated_url) as session:
        member = member_for(session, "T1", "U1")
        member.values = {"level": {"title": 4, "import": 6}, "location": {"self": "Oslo"}}
        assert resolve(member)
        assert not resolve(member)
    member = load(migrated_url)
    assert (member.level, member.location) == (6, "Oslo")
    assert member.sources == {"level": "import", "location": "self"}


def test_self_service_is_off_by_default_and_per_program(migrated_url):
    with session_scope(migrated_url) as session:
        session.add(Program(team_id="T1", channel_id="C1"))
        session.flush()
        assert not self_service_allowed(session, "T1")
        session.add(Program(team_id="T1", channel_id="C2", self_service_levels=True))
        session.flush()
        assert self_service_allowed(session, "T1")
        assert self_service_allowed(session, "T1", "C2")
        assert not self_service_allowed(session, "T1", "C1")
        assert not self_service_allowed(session, "T2")


def test_a_level_is_visible_to_its_owner_and_admins_only():
    member = Member(team_id="T1", user_id="U1", level=6)
    assert visible_level(member, "U1", viewer_is_admin=False) == 6
    assert visible_level(member, "U2", viewer_is_admin=True) == 6
    assert visible_level(member, "U2", viewer_is_admin=False) is None
    assert visible_level(None, "U1", viewer_is_admin=True) is None
