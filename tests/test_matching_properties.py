"""Property tests: rules that must hold for any channel, history and seed."""

from __future__ import annotations

import datetime
import itertools
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.domain.matching import PastGroup, Person, Rules, form_groups
from bot.domain.matching.pool import group_sizes

SLACK_MAX_USERS = 8  # conversations.open takes 1 to 8 users

DAY = datetime.date(2024, 1, 1)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def can_meet(a: Person, b: Person, window_hours: float) -> bool:
    """Rule 1, written out independently of the engine."""
    def place(p: Person) -> str | None:
        return " ".join(p.location.split()).casefold() if p.location else None

    if place(a) and place(b):
        return place(a) == place(b)
    if a.utc_offset_minutes is None or b.utc_offset_minutes is None:
        return True
    return abs(a.utc_offset_minutes - b.utc_offset_minutes) <= window_hours * 60


def met_pairs(history: list[PastGroup]) -> set[frozenset[str]]:
    return {
        frozenset((a, b))
        for group in history
        for a, b in itertools.combinations(group.member_ids, 2)
        if a != b
    }


def repeat_free_split_exists(
    ids: list[str], sizes: list[int], met: set[frozenset[str]], can_lunch=lambda a, b: True
) -> bool:
    """Brute force: can ``ids`` be cut into groups of ``sizes`` with no pair that met (and,
    with ``can_lunch``, every pair able to have lunch together)?"""
    if not ids:
        return not sizes
    first, rest = ids[0], ids[1:]
    for size in set(sizes):
        for others in itertools.combinations(rest, size - 1):
            group = (first, *others)
            if any(frozenset(p) in met or not can_lunch(*p)
                   for p in itertools.combinations(group, 2)):  # fmt: skip
                continue
            left = list(sizes)
            left.remove(size)
            if repeat_free_split_exists([x for x in rest if x not in others], left, met,
                                        can_lunch):  # fmt: skip
                return True
    return False


@st.composite
def channels(draw, mode: str, max_people: int = 11):
    n = draw(st.integers(0, max_people))
    ids = [f"P{i}" for i in range(n)]
    people = []
    for person in ids:
        level = draw(st.none() | st.integers(1, 8))
        dept = draw(st.sampled_from([None, "Sales", "Eng", "Ops"]))
        if mode == "together":
            location, offset = None, draw(st.sampled_from([None, 0, 60]))
        elif mode == "offices":
            location, offset = draw(st.sampled_from(["Lisbon", "Berlin"])), None
        else:
            location = draw(st.sampled_from([None, None, "Lisbon", "Berlin", "Pune"]))
            offset = draw(st.sampled_from([None, -600, -300, 0, 60, 240, 330, 600]))
        people.append(Person(person, level, dept, location, offset))
    pool = ids + ["ghost"]
    history = []
    if len(pool) >= 2:
        for week in range(draw(st.integers(0, 12))):
            size = draw(st.integers(2, min(4, len(pool))))
            group = draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size,
                                  unique=True))
            history.append(PastGroup(DAY + datetime.timedelta(days=7 * week), tuple(group)))
    k = draw(st.integers(2, 4))
    window = draw(st.sampled_from([1.0, 3.0, 5.5]))
    seed = draw(st.integers(0, 2**32 - 1))
    priority = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    return people, history, Rules(group_size=k, tz_window_hours=window), seed, priority


def check_basics(people, history, rules, seed, priority):
    grouping = form_groups(people, history, rules, seed=seed, priority=priority)
    by_id = {p.id: p for p in people}
    placed = Counter(x for g in grouping.groups for x in g)
    left = Counter(u.person_id for u in grouping.unmatched)
    # everyone exactly once: in a group or unmatched, never both, nobody invented
    assert placed + left == Counter(by_id.keys())
    assert all(u.reason.strip() for u in grouping.unmatched)
    for group in grouping.groups:
        assert 2 <= len(group) <= min(rules.group_size + 2, SLACK_MAX_USERS)
        for a, b in itertools.combinations(group, 2):
            assert can_meet(by_id[a], by_id[b], rules.tz_window_hours), (a, b)
    met = met_pairs(history)
    repeats = sum(
        frozenset(p) in met for g in grouping.groups for p in itertools.combinations(g, 2)
    )
    assert grouping.score.repeats == repeats
    assert grouping.score.placed == sum(placed.values())
    return grouping


@SETTINGS
@given(channels("mixed"))
def test_everyone_is_placed_once_or_told_why(channel):
    check_basics(*channel)


@SETTINGS
@given(channels("together"))
def test_when_everyone_can_meet_nobody_is_left_out(channel):
    people, history, rules, seed, priority = channel
    grouping = check_basics(*channel)
    assert len(grouping.unmatched) == (1 if len(people) == 1 else 0)
    if len(people) >= 2:
        sizes = sorted(len(g) for g in grouping.groups)
        assert sizes[-1] - sizes[0] <= 1 or len(people) < rules.group_size


@SETTINGS
@given(channels("together", max_people=10))
def test_no_repeat_while_a_repeat_free_grouping_exists(channel):
    people, history, rules, seed, priority = channel
    grouping = check_basics(*channel)
    if grouping.score.repeats:
        sizes = [len(g) for g in grouping.groups]
        assert not repeat_free_split_exists(
            [p.id for p in people], sizes, met_pairs(history)
        ), grouping


def _office(i: int, place: str) -> Person:
    return Person(f"P{i}", None, None, place, None)


# Found by the search below: five in Berlin, where P0 met three; the round grouped as one
# pool (the offices kept apart) came out as 2 + 3 with P0 beside someone met, although
# P0 + P6 and P1 + P2 + P5 repeat nothing.
BERLIN_TWO_AND_THREE = (
    [_office(0, "Berlin"), _office(1, "Berlin"), _office(2, "Berlin"), _office(3, "Lisbon"),
     _office(4, "Lisbon"), _office(5, "Berlin"), _office(6, "Berlin")],
    [PastGroup(DAY, ("P0", "P2", "P3", "ghost")),
     PastGroup(DAY + datetime.timedelta(days=7), ("P0", "P4", "P5")),
     PastGroup(DAY + datetime.timedelta(days=14), ("P0", "P1"))],
    Rules(group_size=4, tz_window_hours=1.0), 1, [],
)  # fmt: skip


@SETTINGS
@given(channels("offices", max_people=10))
@example(BERLIN_TWO_AND_THREE)
def test_no_repeat_while_avoidable_in_each_office(channel):
    people, history, rules, seed, priority = channel
    grouping = check_basics(*channel)
    met = met_pairs(history)
    for office in ("Lisbon", "Berlin"):
        ids = [p.id for p in people if p.location == office]
        groups = [g for g in grouping.groups if g[0] in ids]
        if any(frozenset(p) in met for g in groups for p in itertools.combinations(g, 2)):
            assert not repeat_free_split_exists(ids, [len(g) for g in groups], met)


@SETTINGS
@given(channels("mixed", max_people=10))
def test_no_repeat_while_a_repeat_free_grouping_exists_across_offices_and_zones(channel):
    """Pools are chosen with the groups: when everyone can be seated in groups of the usual
    sizes that can all have lunch and repeat nobody, the engine finds such a grouping, even
    if that takes someone who could lunch in two places away from their first pool."""
    people, history, rules, seed, priority = channel
    grouping = check_basics(*channel)
    by_id = {p.id: p for p in people}
    if repeat_free_split_exists(
        list(by_id), group_sizes(len(people), rules.group_size), met_pairs(history),
        lambda a, b: can_meet(by_id[a], by_id[b], rules.tz_window_hours),
    ):  # fmt: skip
        assert grouping.score.repeats == 0 and not grouping.unmatched, grouping


def beside_an_office(k: int, count: int, seed: int):
    """Rounds of 4-10 people across two offices and three time zones, 30% of their pairs
    met before, that brute force can seat repeat-free, each with an office elsewhere that
    none of them can lunch with (so the round is past the merge limit)."""
    rng = random.Random(seed)
    found = 0
    while found < count:
        n = rng.choice([size for size in (4, 6, 8, 9, 10) if size % k == 0])
        people = [Person(f"P{i}", rng.randint(1, 8), None, rng.choice(["Lisbon", "London", None]),
                         rng.choice([0, 60, 300])) for i in range(n)]  # fmt: skip
        history = [PastGroup(DAY, (a.id, b.id))
                   for a, b in itertools.combinations(people, 2) if rng.random() < 0.3]  # fmt: skip
        rules = Rules(group_size=k)
        by_id = {p.id: p for p in people}
        if repeat_free_split_exists(
            list(by_id), group_sizes(n, k), met_pairs(history),
            lambda a, b, by_id=by_id, rules=rules: can_meet(by_id[a], by_id[b], rules.tz_window_hours),
        ):  # fmt: skip
            found += 1
            yield people, history, rules


OFFICE = 48  # people in the office elsewhere; the merge limit is lowered below it for speed


@pytest.mark.parametrize("k", [2, 3])
def test_beyond_the_merge_limit_no_repeat_while_a_repeat_free_grouping_exists(k):
    """Pools are chosen with the groups in large rounds too: a place with a repeat or
    someone left out is grouped again with the pools its people could also lunch in. (The
    real limit, 600, is exercised in test_matching_simulation.)"""
    from unittest import mock

    from bot.domain.matching import engine

    office = [Person(f"T{i}", 1 + i % 8, None, "Tokyo", 540) for i in range(OFFICE)]
    missed = []
    for number, (people, history, rules) in enumerate(beside_an_office(k, 40, seed=k)):
        with mock.patch.object(engine, "MERGE_LIMIT", OFFICE - 2):
            grouping = check_basics(people + office, history, rules, number, [])
        if grouping.score.repeats or grouping.unmatched:
            missed.append(grouping)
    assert len(missed) == 0, missed[:2]


@SETTINGS
@given(channels("mixed"))
def test_the_same_seed_gives_the_same_result(channel):
    people, history, rules, seed, priority = channel
    first = form_groups(people, history, rules, seed=seed, priority=priority)
    again = form_groups(people, history, rules, seed=seed, priority=priority)
    assert first == again


@st.composite
def rosters(draw):
    """2-80 people in groups of 2-8, everyone together or cut by offices and time zones."""
    n = draw(st.integers(2, 80))
    k = draw(st.integers(2, 8))
    mixed = draw(st.booleans())
    rng = draw(st.randoms(use_true_random=False))
    people = []
    for i in range(n):
        location = rng.choice([None, None, None, "Lisbon", "Pune"]) if mixed else None
        offset = rng.choice([None, -300, 0, 60, 180, 330, 600]) if mixed else None
        people.append(Person(f"P{i}", rng.randint(1, 8), rng.choice(["A", "B", None]),
                             location, offset))
    history = []
    for week in range(draw(st.integers(0, 6))):
        for _ in range(n // k):
            group = rng.sample([p.id for p in people], min(k, n))
            history.append(PastGroup(DAY + datetime.timedelta(days=7 * week), tuple(group)))
    window = draw(st.sampled_from([1.0, 3.0]))
    priority = [p.id for p in people if rng.random() < 0.1]
    return people, history, Rules(group_size=k, tz_window_hours=window), draw(st.integers(0, 99)), priority


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rosters())
def test_no_group_is_larger_than_slack_allows_and_nobody_who_fits_is_left_out(channel):
    check_nobody_left_out_who_fits(channel)


def test_someone_turned_away_early_is_seated_when_a_later_seat_opens_a_way():
    """Found by the property above: people seated after P2, P6 and P10 were turned away
    changed the groups so that they could be seated after all."""
    people = [
        Person("P0", 5, None, "Pune", -90), Person("P1", 4, None, "Pune", 600),
        Person("P2", 2, None, "Pune", -180), Person("P3", 5, None, None, 0),
        Person("P4", 4, None, "Lisbon", -300), Person("P5", 5, None, "Pune", -300),
        Person("P6", 3, None, None, 330), Person("P7", 6, None, "Pune", 180),
        Person("P8", 2, None, "Pune", None), Person("P9", 7, None, None, 180),
        Person("P10", 5, None, None, -180),
    ]
    check_nobody_left_out_who_fits(
        (people, [], Rules(group_size=2, tz_window_hours=1.0), 92, ["P2", "P6", "P10"])
    )


def check_nobody_left_out_who_fits(channel):
    people, history, rules, seed, priority = channel
    grouping = check_basics(*channel)
    assert max((len(g) for g in grouping.groups), default=0) <= SLACK_MAX_USERS
    by_id = {p.id: p for p in people}
    window = rules.tz_window_hours
    out = [u.person_id for u in grouping.unmatched]
    for x in out:
        meets = [p for p in people if p.id != x and can_meet(by_id[x], p, window)]
        # nobody left out who could pair with another person left out,
        assert not any(p.id in out for p in meets), (x, out)
        for group in grouping.groups:
            fits = [y for y in group if can_meet(by_id[x], by_id[y], window)]
            # join a group that has room and that they can all meet,
            assert not (len(fits) == len(group) < SLACK_MAX_USERS), (x, group)
            # or take one member from a group of three or more to make a pair
            assert not (fits and len(group) >= 3), (x, group)
