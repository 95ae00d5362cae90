"""One test (or a few) per rule of the matching engine, on small hand-made channels."""

from __future__ import annotations

import datetime
import itertools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.matching import Grouping, History, PastGroup, Person, Rules, form_groups

DAY = datetime.date(2024, 3, 4)
WEEK = datetime.timedelta(days=7)


def members_of(grouping: Grouping) -> list[str]:
    return [x for group in grouping.groups for x in group]


def pairs_of(grouping: Grouping) -> set[frozenset[str]]:
    return {frozenset(p) for g in grouping.groups for p in itertools.combinations(g, 2)}


def level_spread(grouping: Grouping, levels: dict[str, int]) -> int:
    return sum(max(levels[x] for x in g) - min(levels[x] for x in g) for g in grouping.groups)


# ---------------------------------------------------------------- 1. lunch together (hard)


def test_people_with_locations_only_meet_people_in_the_same_place():
    people = [Person(f"L{i}", level=i, location="Lisbon") for i in range(4)] + [
        Person(f"B{i}", level=i, location="Berlin") for i in range(4)
    ]
    for seed in range(5):
        grouping = form_groups(people, [], seed=seed)
        assert sorted(members_of(grouping)) == sorted(p.id for p in people)
        for group in grouping.groups:
            assert len({x[0] for x in group}) == 1, group


def test_location_names_match_loosely():
    people = [Person("a", location="New York"), Person("b", location=" new  york ")]
    assert form_groups(people, [], seed=1).groups == [("a", "b")]


def test_time_zones_further_apart_than_the_window_never_meet():
    west = [Person(f"W{i}", level=i, utc_offset_minutes=-480) for i in range(4)]
    east = [Person(f"E{i}", level=i, utc_offset_minutes=480) for i in range(4)]
    for seed in range(5):
        grouping = form_groups(west + east, [], seed=seed)
        assert len(members_of(grouping)) == 8
        for group in grouping.groups:
            assert len({x[0] for x in group}) == 1, group


def test_the_time_zone_window_is_configurable():
    people = [
        Person("a1", utc_offset_minutes=0),
        Person("a2", utc_offset_minutes=0),
        Person("b1", utc_offset_minutes=120),
        Person("b2", utc_offset_minutes=120),
    ]
    narrow = Rules(tz_window_hours=1)
    for seed in range(5):
        assert sorted(map(sorted, form_groups(people, [], narrow, seed=seed).groups)) == [
            ["a1", "a2"],
            ["b1", "b2"],
        ]
    wide = {frozenset(g) for s in range(20) for g in form_groups(people, [], seed=s).groups}
    assert frozenset({"a1", "b1"}) in wide or frozenset({"a1", "b2"}) in wide


def test_unknown_time_zone_puts_no_limit():
    people = [
        Person("far-west", utc_offset_minutes=-600),
        Person("far-east", utc_offset_minutes=600),
        Person("anywhere"),
    ]
    grouping = form_groups(people, [], seed=3)
    assert grouping.groups == [] or len(grouping.groups) == 1
    placed = set(members_of(grouping))
    assert "anywhere" in placed
    assert len(placed) == 2  # far-west and far-east cannot share a table
    assert len(grouping.unmatched) == 1


def test_someone_alone_in_their_office_and_time_zone_is_unmatched_with_a_reason():
    people = [Person(f"U{i}", level=i % 8 + 1, utc_offset_minutes=-300) for i in range(6)] + [
        Person("lisbon", level=3, location="Lisbon", utc_offset_minutes=0)
    ]
    grouping = form_groups(people, [], seed=1)
    assert [u.person_id for u in grouping.unmatched] == ["lisbon"]
    assert grouping.unmatched[0].reason == (
        "no one else in Lisbon or within 3 hours of your time zone this round"
    )
    assert all(len(g) >= 2 for g in grouping.groups)


def test_a_lone_office_worker_meets_a_remote_colleague_in_their_time_zone():
    people = [
        Person("lisbon", location="Lisbon", utc_offset_minutes=0),
        Person("remote", utc_offset_minutes=60),
    ]
    assert form_groups(people, [], seed=1).groups in ([("lisbon", "remote")],
                                                     [("remote", "lisbon")])


@pytest.mark.parametrize("seed", range(5))
def test_a_small_office_that_has_met_lunches_with_remote_colleagues_another_office_had(seed):
    """The two people of the Lisbon office met last time; the remote people in their time
    zone were first pooled with the larger London office, but lunch with Lisbon instead."""
    people = [Person("lisbon-1", 1, location="Lisbon", utc_offset_minutes=0),
              Person("lisbon-2", 8, location="Lisbon", utc_offset_minutes=0)]
    people += [Person(f"london-{i}", 2 + i, location="London", utc_offset_minutes=0)
               for i in range(4)]
    people += [Person("remote-1", 3, utc_offset_minutes=0),
               Person("remote-2", 6, utc_offset_minutes=60)]  # fmt: skip
    history = [PastGroup(DAY, ("lisbon-1", "lisbon-2"))]
    grouping = form_groups(people, history, Rules(group_size=2), seed=seed)
    assert grouping.score.repeats == 0 and not grouping.unmatched
    by_id = {p.id: p for p in people}
    for group in grouping.groups:
        places = {by_id[x].location for x in group} - {None}
        assert len(places) <= 1, group  # nobody crosses from one office to another
    lisbon = [g for g in grouping.groups if {"lisbon-1", "lisbon-2"} & set(g)]
    assert all(any(x.startswith("remote") for x in g) for g in lisbon)


def test_nobody_is_ever_in_a_group_of_one():
    assert form_groups([Person("solo")], [], seed=1).groups == []
    only = form_groups([Person("solo")], [], seed=1).unmatched
    assert [u.person_id for u in only] == ["solo"]
    assert "only one" in only[0].reason


def test_the_reason_names_the_window_in_use():
    people = [Person("a", utc_offset_minutes=0), Person("b", utc_offset_minutes=200)]
    grouping = form_groups(people, [], Rules(tz_window_hours=1.5), seed=1)
    reasons = {u.reason for u in grouping.unmatched}
    assert reasons == {"no one within 1.5 hours of your time zone this round"}


# ---------------------------------------------------------------- 2. group size and the extra seat


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (10, 2, [2] * 5),
        (11, 2, [2] * 4 + [3]),
        (10, 3, [3, 3, 4]),
        (7, 4, [3, 4]),
        (15, 8, [7, 8]),
        (3, 4, [3]),
        (17, 5, [5, 6, 6]),
        # never more than 8: Slack opens no conversation for more
        (9, 8, [4, 5]),
        (17, 8, [5, 6, 6]),
        (16, 8, [8, 8]),
        (25, 8, [6, 6, 6, 7]),
        (8, 7, [8]),
        (9, 7, [4, 5]),
        (15, 7, [7, 8]),
    ],
)
def test_group_sizes(count, size, expected):
    people = [Person(f"U{i}", level=i % 8 + 1) for i in range(count)]
    grouping = form_groups(people, [], Rules(group_size=size), seed=2)
    assert sorted(len(g) for g in grouping.groups) == expected
    assert sorted(members_of(grouping)) == sorted(p.id for p in people)


def test_a_late_extra_person_splits_a_full_group_of_eight_instead_of_making_nine():
    # One Lisbon colleague is three hours west, so the remote colleague three hours east can
    # meet everyone in Lisbon but that one, and only joins after the office is grouped.
    office = [Person(f"L{i}", level=i % 8 + 1, location="Lisbon", utc_offset_minutes=0)
              for i in range(15)]
    office.append(Person("West", level=3, location="Lisbon", utc_offset_minutes=-180))
    remote = Person("East", level=5, utc_offset_minutes=180)
    for seed in range(6):
        grouping = form_groups([*office, remote], [], Rules(group_size=8), seed=seed)
        assert not grouping.unmatched
        assert sorted(members_of(grouping)) == sorted(p.id for p in [*office, remote])
        assert max(len(g) for g in grouping.groups) <= 8
        assert sorted(len(g) for g in grouping.groups) == [4, 5, 8]
        assert "West" not in next(g for g in grouping.groups if "East" in g)


def test_a_late_extra_person_who_can_meet_only_part_of_a_group_takes_one_member_along():
    office = [Person(f"L{i}", level=i + 1, location="Lisbon", utc_offset_minutes=0)
              for i in range(3)]
    office.append(Person("West", level=8, location="Lisbon", utc_offset_minutes=-180))
    remote = Person("East", level=5, utc_offset_minutes=180)
    for seed in range(4):
        grouping = form_groups([*office, remote], [], Rules(group_size=4), seed=seed)
        assert not grouping.unmatched
        assert sorted(len(g) for g in grouping.groups) == [2, 3]
        assert "West" not in next(g for g in grouping.groups if "East" in g)


def test_a_grouping_with_a_group_slack_cannot_open_is_refused():
    nine = tuple(f"U{i}" for i in range(9))
    with pytest.raises(ValueError, match="at most 8"):
        Grouping(groups=[nine[:2], nine], unmatched=[])
    Grouping(groups=[nine[:8]], unmatched=[])  # eight, the most Slack opens, raises nothing


def test_nobody_sits_in_the_trio_twice_in_a_row():
    people = [Person(f"U{i}", level=i % 8 + 1) for i in range(21)]
    history = History()
    last_trio: set[str] = set()
    for week in range(10):
        grouping = form_groups(people, history, seed=week)
        (trio,) = [g for g in grouping.groups if len(g) == 3]
        assert not last_trio & set(trio), (week, last_trio, trio)
        last_trio = set(trio)
        history = history.extended(PastGroup(DAY + week * WEEK, g) for g in grouping.groups)


def _repeat_free_rounds(ids, history, banned):
    """Brute force: repeat-free groupings (one trio) whose trio avoids ``banned``."""

    def pairings(rest):
        if not rest:
            yield []
            return
        a = rest[0]
        for b in rest[1:]:
            if history.times_met(a, b) == 0:
                for tail in pairings([x for x in rest[1:] if x != b]):
                    yield [(a, b), *tail]

    for trio in itertools.combinations(ids, 3):
        if set(trio) & banned:
            continue
        if any(history.times_met(a, b) for a, b in itertools.combinations(trio, 2)):
            continue
        if next(pairings([x for x in ids if x not in trio]), None) is not None:
            return True
    return False


def test_a_second_turn_in_the_trio_happens_only_when_it_cannot_be_avoided():
    people = [Person(f"U{i}", level=i % 8 + 1) for i in range(9)]
    ids = [p.id for p in people]
    history = History()
    last_trio: set[str] = set()
    for week in range(6):
        grouping = form_groups(people, history, seed=week)
        if grouping.score.repeats:
            break
        (trio,) = [g for g in grouping.groups if len(g) == 3]
        if last_trio & set(trio):
            assert not _repeat_free_rounds(ids, history, last_trio), week
        last_trio = set(trio)
        history = history.extended(PastGroup(DAY + week * WEEK, g) for g in grouping.groups)


@pytest.mark.parametrize(("count", "size"), [(23, 3), (41, 4)])
def test_the_extra_seat_rotates_in_larger_groups_too(count, size):
    people = [Person(f"U{i}", level=i % 8 + 1) for i in range(count)]
    history = History()
    last: set[str] = set()
    for week in range(4):  # early rounds, while seating others instead is always possible
        grouping = form_groups(people, history, Rules(group_size=size), seed=week)
        assert grouping.score.repeats == 0
        enlarged = {x for g in grouping.groups if len(g) == size + 1 for x in g}
        assert enlarged and not last & enlarged, (week, last & enlarged)
        last = enlarged
        history = history.extended(PastGroup(DAY + week * WEEK, g) for g in grouping.groups)


# ---------------------------------------------------------------- 3. no repeats while avoidable


def test_pairs_that_met_are_not_paired_again():
    people = [Person(x, level=lv) for x, lv in zip("ABCD", [1, 8, 2, 7], strict=True)]
    history = [PastGroup(DAY, ("A", "B")), PastGroup(DAY, ("C", "D"))]
    for seed in range(10):
        grouping = form_groups(people, history, seed=seed)
        assert not pairs_of(grouping) & {frozenset("AB"), frozenset("CD")}
        assert grouping.score.repeats == 0


def test_people_who_met_in_a_larger_group_count_as_having_met():
    people = [Person(x) for x in "ABCD"]
    history = [PastGroup(DAY, ("A", "B", "C"))]
    grouping = form_groups(people, history, seed=1)
    assert grouping.score.repeats == 1  # D can only break one of the three pairs
    assert any("D" in g for g in grouping.groups)


def test_a_forced_repeat_reuses_the_pair_that_met_longest_ago():
    people = [Person(x, level=lv) for x, lv in zip("ABCD", [1, 8, 1, 8], strict=True)]
    history = [
        PastGroup(DAY - 10 * WEEK, ("A", "D")),
        PastGroup(DAY - 10 * WEEK, ("B", "C")),
        PastGroup(DAY - 5 * WEEK, ("A", "C")),
        PastGroup(DAY - 5 * WEEK, ("B", "D")),
        PastGroup(DAY - WEEK, ("A", "B")),
        PastGroup(DAY - WEEK, ("C", "D")),
    ]
    for seed in range(5):
        grouping = form_groups(people, history, seed=seed)
        assert pairs_of(grouping) == {frozenset("AD"), frozenset("BC")}
        assert grouping.score.repeats == 2


def test_a_forced_repeat_prefers_pairs_that_met_less_often():
    people = [Person(x) for x in "ABCD"]
    history = [
        PastGroup(DAY - 3 * WEEK, ("A", "B")),
        PastGroup(DAY - 3 * WEEK, ("C", "D")),
        PastGroup(DAY - 2 * WEEK, ("A", "B")),
        PastGroup(DAY - 2 * WEEK, ("C", "D")),
        PastGroup(DAY - 2 * WEEK, ("A", "C")),
        PastGroup(DAY - 2 * WEEK, ("B", "D")),
        PastGroup(DAY - 2 * WEEK, ("A", "D")),
        PastGroup(DAY - 2 * WEEK, ("B", "C")),
    ]
    grouping = form_groups(people, history, seed=1)
    assert pairs_of(grouping).isdisjoint({frozenset("AB"), frozenset("CD")})


def test_as_few_repeats_as_possible():
    # A and B have met everyone; the other four have not met each other.
    people = [Person(x) for x in "ABCDEF"]
    history = [PastGroup(DAY, (x, y)) for x in "AB" for y in "ABCDEF" if x < y]
    grouping = form_groups(people, history, seed=4)
    assert grouping.score.repeats == 1  # A and B must sit with someone they met... once


# ---------------------------------------------------------------- 4. across levels and departments


def test_the_widest_level_spread_wins():
    levels = {"junior": 1, "mid-low": 4, "mid-high": 5, "senior": 8}
    people = [Person(x, level=lv) for x, lv in levels.items()]
    for seed in range(10):
        grouping = form_groups(people, [], seed=seed)
        assert level_spread(grouping, levels) == 8  # (1,5)+(4,8) or (1,8)+(4,5)
        assert frozenset({"junior", "mid-low"}) not in pairs_of(grouping)


def test_first_round_reaches_the_maximum_total_spread():
    levels = {f"U{i}": (i * 37) % 8 + 1 for i in range(40)}
    people = [Person(x, level=lv) for x, lv in levels.items()]
    ordered = sorted(levels.values())
    best = sum(ordered[20:]) - sum(ordered[:20])
    for seed in range(3):
        assert level_spread(form_groups(people, [], seed=seed), levels) == best


def test_different_departments_are_preferred_when_the_spread_is_the_same():
    people = [
        Person("a1", level=1, department="Sales"),
        Person("a2", level=1, department="Engineering"),
        Person("b1", level=8, department="Sales"),
        Person("b2", level=8, department="Engineering"),
    ]
    for seed in range(10):
        grouping = form_groups(people, [], seed=seed)
        assert pairs_of(grouping) == {frozenset({"a1", "b2"}), frozenset({"a2", "b1"})}
        assert grouping.score.cross_department == 1.0


def test_unknown_level_counts_as_the_middle():
    people = [Person("one", level=1), Person("two", level=2), Person("eight", level=8)]
    people.append(Person("unknown"))
    for seed in range(10):
        grouping = form_groups(people, [], seed=seed)
        # as the middle (4.5) the unknown person is senior to one and two, so those two are
        # never paired with each other
        assert frozenset({"one", "two"}) not in pairs_of(grouping)
    lone = form_groups([Person("one", level=1), Person("x"), Person("eight", level=8),
                        Person("y")], [], seed=0)
    assert lone.score.mean_level_spread == pytest.approx(3.5)


def test_ties_are_broken_at_random():
    people = [Person(f"U{i}", level=4) for i in range(8)]
    seen = {tuple(sorted(map(tuple, map(sorted, form_groups(people, [], seed=s).groups))))
            for s in range(20)}
    assert len(seen) > 5


# ---------------------------------------------------------------- priority and determinism


def test_people_left_out_last_round_are_placed_first():
    office = Person("lisbon", location="Lisbon", utc_offset_minutes=0)
    east = Person("east", utc_offset_minutes=120)
    west = Person("west", utc_offset_minutes=-120)
    for seed in range(5):
        for first in ("east", "west"):
            grouping = form_groups([office, east, west], [], seed=seed, priority=[first])
            assert first in members_of(grouping)
            assert len(grouping.unmatched) == 1


def test_the_same_seed_gives_the_same_grouping():
    people = [Person(f"U{i}", level=i % 5, department="AB"[i % 2]) for i in range(31)]
    history = [PastGroup(DAY, (f"U{i}", f"U{i + 1}")) for i in range(0, 30, 2)]
    assert form_groups(people, history, seed=7) == form_groups(people, history, seed=7)


def test_without_a_seed_rounds_differ():
    people = [Person(f"U{i}", level=i % 3) for i in range(30)]
    results = {tuple(form_groups(people, []).groups) for _ in range(5)}
    assert len(results) > 1


def test_input_order_does_not_matter_for_who_can_meet():
    people = [Person(f"U{i}", level=i % 8, location="AB"[i % 2]) for i in range(12)]
    a = form_groups(people, [], seed=5)
    b = form_groups(list(reversed(people)), [], seed=5)
    for grouping in (a, b):
        assert all(len({int(x[1:]) % 2 for x in g}) == 1 for g in grouping.groups)


# ---------------------------------------------------------------- inputs and results


def test_an_empty_round():
    grouping = form_groups([], [])
    assert grouping.groups == [] and grouping.unmatched == []
    assert grouping.score.groups == 0


def test_the_same_person_twice_is_refused():
    with pytest.raises(ValueError, match="listed twice"):
        form_groups([Person("a"), Person("a")], [])


@pytest.mark.parametrize("size", [0, 1, 9])
def test_group_size_is_checked(size):
    with pytest.raises(ValueError, match="between 2 and 8"):
        Rules(group_size=size)


def test_negative_window_is_refused():
    with pytest.raises(ValueError):
        Rules(tz_window_hours=-1)


def test_score_describes_the_grouping():
    levels = {"a": 1, "b": 8, "c": 2, "d": 6, "e": 4}
    depts = {"a": "Sales", "b": "Sales", "c": "Ops", "d": "Legal", "e": "Design"}
    people = [Person(x, level=lv, department=depts[x]) for x, lv in levels.items()]
    history = [PastGroup(DAY, ("a", "b"))]
    grouping = form_groups(people, history, seed=1)
    score = grouping.score
    assert score.groups == len(grouping.groups) == 2
    assert score.placed == 5 and score.unmatched == 0 and score.enlarged_groups == 1
    spreads = [max(levels[x] for x in g) - min(levels[x] for x in g) for g in grouping.groups]
    assert score.mean_level_spread == pytest.approx(sum(spreads) / 2)
    assert score.repeats == 0
    assert score.cross_department == 1.0


def test_history_accepts_a_prebuilt_index_with_the_same_result():
    people = [Person(f"U{i}", level=i % 8) for i in range(20)]
    past = [PastGroup(DAY, (f"U{i}", f"U{19 - i}")) for i in range(10)]
    assert form_groups(people, past, seed=3) == form_groups(
        people, History.from_groups(past), seed=3
    )


def test_history_about_people_not_in_the_round_is_ignored():
    people = [Person("a"), Person("b")]
    past = [PastGroup(DAY, ("a", "ghost")), PastGroup(DAY, ("ghost", "b", "other"))]
    grouping = form_groups(people, past, seed=1)
    assert grouping.groups in ([("a", "b")], [("b", "a")])
    assert grouping.score.repeats == 0


def test_large_pools_keep_the_rules():
    people = [
        Person(f"U{i}", level=i % 8 + 1, department=f"D{i % 7}") for i in range(1501)
    ]
    ids = [p.id for p in people]
    history = History.from_groups(
        PastGroup(DAY - w * WEEK, (ids[i], ids[(i + 1 + w * 13) % len(ids)]))
        for w in range(5)
        for i in range(0, len(ids), 2)
    )
    grouping = form_groups(people, history, seed=11)
    counts = Counter(members_of(grouping))
    assert len(counts) == len(people) and max(counts.values()) == 1
    assert sorted(Counter(len(g) for g in grouping.groups).items()) == [(2, 749), (3, 1)]
    assert grouping.score.repeats == 0
    ordered = sorted(p.level for p in people)
    best = (sum(ordered[-750:]) - sum(ordered[:750])) / 750
    assert grouping.score.mean_level_spread >= 0.99 * best


def test_many_lone_offices_are_spread_over_remote_groups():
    offices = [Person(f"O{i}", level=i % 8 + 1, location=f"City {i}", utc_offset_minutes=0)
               for i in range(30)]
    remote = [Person(f"R{i}", level=i % 8 + 1, utc_offset_minutes=60) for i in range(40)]
    grouping = form_groups(offices + remote, [], seed=2)
    assert not grouping.unmatched
    assert sorted(members_of(grouping)) == sorted(p.id for p in offices + remote)
    for group in grouping.groups:
        assert sum(x.startswith("O") for x in group) <= 1, group  # two cities never share


def test_the_same_seed_gives_the_same_grouping_in_another_process(tmp_path):
    script = tmp_path / "round.py"
    script.write_text(
        "from bot.domain.matching import Person, PastGroup, Rules, form_groups\n"
        "import datetime\n"
        "people = [Person(f'U{i}', level=i % 5 or None, department='AB'[i % 2],\n"
        "                 location=None if i % 3 else 'Lisbon') for i in range(41)]\n"
        "past = [PastGroup(datetime.date(2024, 1, 1), (f'U{i}', f'U{i + 1}'))\n"
        "        for i in range(0, 40, 2)]\n"
        "for size in (2, 3):\n"
        "    print(form_groups(people, past, Rules(group_size=size), seed=5))\n"
    )
    root = Path(__file__).resolve().parent.parent
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env=env, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1
