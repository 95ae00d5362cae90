"""The history index: who met whom, how often, when, and in what size of group."""

from __future__ import annotations

import datetime

from bot.domain.matching import History, PastGroup

D1 = datetime.date(2024, 1, 1)
D2 = datetime.date(2024, 1, 8)


def test_pairs_in_a_group_have_met():
    history = History.from_groups([PastGroup(D1, ("a", "b", "c"))])
    assert len(history) == 3
    assert history.times_met("a", "c") == history.times_met("c", "a") == 1
    assert history.times_met("a", "z") == 0
    assert history.last_met("b", "c") == D1
    assert history.last_met("a", "z") is None
    assert history.times_met("a", "a") == 0


def test_meeting_again_counts_and_moves_the_date():
    history = History.from_groups(
        [PastGroup(D2, ("a", "b")), PastGroup(D1, ("b", "a")), PastGroup(D1, ("a", "c"))]
    )
    assert history.times_met("a", "b") == 2
    assert history.last_met("a", "b") == D2
    assert history.last_met("a", "c") == D1
    assert history.latest == D2


def test_extended_adds_a_round_and_leaves_the_original_alone():
    before = History.from_groups([PastGroup(D1, ("a", "b"))])
    after = before.extended([PastGroup(D2, ("a", "b")), PastGroup(D2, ("c", "d"))])
    assert before.times_met("a", "b") == 1 and before.times_met("c", "d") == 0
    assert after.times_met("a", "b") == 2 and after.times_met("c", "d") == 1
    assert after.last_met("a", "b") == D2


def test_each_person_s_latest_group_is_remembered():
    history = History.from_groups(
        [PastGroup(D1, ("a", "b", "c")), PastGroup(D2, ("a", "d")), PastGroup(D1, ("e", "f"))]
    )
    assert history.last_group("a") == (D2, 2)
    assert history.last_group("b") == (D1, 3)
    assert history.last_group("nobody") is None


def test_columns_build_the_same_index_as_groups():
    groups = [PastGroup(D1, ("a", "b")), PastGroup(D2, ("b", "c", "d"))]
    a = History.from_groups(groups)
    b = History.from_rows([g.date for g in groups], [g.member_ids for g in groups])
    for x, y in [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]:
        assert a.times_met(x, y) == b.times_met(x, y)
        assert a.last_met(x, y) == b.last_met(x, y)


def test_a_name_listed_twice_in_a_group_is_not_a_meeting_with_oneself():
    history = History.from_groups([PastGroup(D1, ("a", "a", "b"))])
    assert history.times_met("a", "a") == 0
    assert history.times_met("a", "b") >= 1


def test_an_empty_history():
    history = History.from_groups([])
    assert len(history) == 0 and history.latest is None
    assert history.times_met("a", "b") == 0
