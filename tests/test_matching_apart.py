"""Pairs kept apart (avoid lists) are a hard rule of the engine, like being able to meet."""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_matching_properties import SLACK_MAX_USERS, can_meet, channels, rosters

from bot.domain.matching import Person, Rules, form_groups

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def with_apart(draw, channel_strategy, most: int = 30):
    people, history, rules, seed, priority = draw(channel_strategy)
    ids = [p.id for p in people] + ["someone-not-here"]
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=most))
    return people, history, rules, seed, priority, pairs


def check_apart(people, history, rules, seed, priority, pairs):
    grouping = form_groups(people, history, rules, seed=seed, priority=priority, apart=pairs)
    by_id = {p.id: p for p in people}
    placed = Counter(x for g in grouping.groups for x in g)
    left = Counter(u.person_id for u in grouping.unmatched)
    assert placed + left == Counter(by_id.keys())  # everyone exactly once
    kept = {frozenset(p) for p in pairs if p[0] != p[1]}
    for group in grouping.groups:
        assert 2 <= len(group) <= SLACK_MAX_USERS
        for a, b in itertools.combinations(group, 2):
            assert frozenset((a, b)) not in kept, (a, b, group)
            assert can_meet(by_id[a], by_id[b], rules.tz_window_hours), (a, b)
    for unmatched in grouping.unmatched:  # the sentence names no rule about anyone
        assert unmatched.reason and "avoid" not in unmatched.reason
        assert "apart" not in unmatched.reason
    assert grouping.score.placed == sum(placed.values())
    return grouping


@SETTINGS
@given(with_apart(channels("mixed")))
def test_no_group_ever_holds_a_pair_kept_apart(channel):
    check_apart(*channel)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_apart(rosters(), most=120))
def test_no_group_ever_holds_a_pair_kept_apart_in_larger_groups_and_rosters(channel):
    check_apart(*channel)


@SETTINGS
@given(channels("together"), st.data())
def test_a_few_avoids_leave_nobody_out_when_everyone_can_meet(channel, data):
    """Each person avoiding at most one other: a clean grouping always exists from four."""
    people, history, rules, seed, priority = channel
    ids = [p.id for p in people]
    shuffled = data.draw(st.permutations(ids))
    pairs = list(zip(shuffled[0::2], shuffled[1::2], strict=False))
    grouping = check_apart(people, history, rules, seed, priority, pairs)
    if len(people) >= 4:
        assert grouping.unmatched == []


def test_three_people_two_of_whom_are_kept_apart_make_a_pair_not_a_trio():
    people = [Person("A", 1), Person("B", 9), Person("C", 5)]
    grouping = form_groups(people, rules=Rules(group_size=2), seed=1, apart=[("B", "A")])
    assert len(grouping.groups) == 1 and set(grouping.groups[0]) in ({"A", "C"}, {"B", "C"})
    assert len(grouping.unmatched) == 1


def test_a_pair_kept_apart_who_can_only_meet_each_other_are_both_told_plainly():
    people = [
        Person("A", 1, location="Berlin"), Person("B", 9, location="Berlin"),
        Person("C", 2, location="Paris"), Person("D", 8, location="Paris"),
    ]
    grouping = form_groups(people, seed=3, apart=[("A", "B")])
    assert grouping.groups == [("C", "D")] or grouping.groups == [("D", "C")]
    reasons = {u.person_id: u.reason for u in grouping.unmatched}
    seat = "everyone in Berlin was already in a full group this round"  # as anyone without one
    assert reasons == {"A": seat, "B": seat}


def test_the_same_seed_gives_the_same_groups_with_pairs_kept_apart():
    people = [Person(f"P{i}", i % 9 + 1) for i in range(31)]
    pairs = [(f"P{i}", f"P{(i * 7) % 31}") for i in range(31)]
    first = form_groups(people, rules=Rules(group_size=3), seed=8, apart=pairs)
    assert first == form_groups(people, rules=Rules(group_size=3), seed=8, apart=pairs)
    assert first.unmatched == []


def test_someone_taken_out_to_keep_a_pair_apart_gets_a_seat_once_the_groups_are_clean():
    """U5 could first only join U1, whom U1 asked to avoid; once the other groups are clean
    a seat with U2 opens, and nobody is left out."""
    people = [
        Person("U0", 2, location="Lisbon", utc_offset_minutes=60),
        Person("U1", 4),
        Person("U2", 4, location="Lisbon", utc_offset_minutes=300),
        Person("U3", 6, utc_offset_minutes=0),
        Person("U4", 7, utc_offset_minutes=0),
        Person("U5", 8, utc_offset_minutes=300),
    ]
    apart = [("U0", "U1"), ("U1", "U3"), ("U1", "U5")]
    rules = Rules(group_size=3, tz_window_hours=3.0)
    grouping = form_groups(people, [], rules, seed=117, apart=apart)
    assert grouping.unmatched == []
    by_id = {p.id: p for p in people}
    for group in grouping.groups:
        for a, b in itertools.combinations(group, 2):
            assert {a, b} not in [set(pair) for pair in apart]
            assert can_meet(by_id[a], by_id[b], rules.tz_window_hours)
