"""Simulations over many rounds: the look-ahead claims of the engine.

A stable channel meets every week; each round sees all earlier rounds as history.
"""

from __future__ import annotations

import datetime
import itertools
import math
import random

import networkx as nx
import pytest

from bot.domain.matching import Grouping, History, PastGroup, Person, Rules, designs, form_groups

DAY = datetime.date(2024, 1, 1)


def channel(n: int, seed: int, shape: str = "uniform") -> list[Person]:
    rng = random.Random(seed)
    if shape == "uniform":
        levels = [rng.randint(1, 8) for _ in range(n)]
    else:  # pyramid: many juniors, few seniors
        levels = [min(8, 1 + int(rng.expovariate(0.6))) for _ in range(n)]
    return [
        Person(f"U{i:03d}", level=levels[i], department=rng.choice(["Sales", "Eng", "Ops", "HR"]))
        for i in range(n)
    ]


def simulate(people, rounds, rules=Rules(), seed=0, check=None):  # noqa: B008
    """Run rounds until the first repeat; return the repeat-free groupings."""
    history = History()
    done: list[Grouping] = []
    for week in range(rounds):
        grouping = form_groups(people, history, rules, seed=seed * 1000 + week)
        if check is not None:
            check(history, grouping)
        if grouping.score.repeats:
            break
        assert not grouping.unmatched
        done.append(grouping)
        day = DAY + datetime.timedelta(days=7 * week)
        history = history.extended(PastGroup(day, g) for g in grouping.groups)
    return done


def best_spread(people) -> float:
    """The widest mean spread any round of pairs can have: top half minus bottom half."""
    levels = sorted(p.level for p in people)
    m = len(levels) // 2
    return (sum(levels[-m:]) - sum(levels[:m])) / m


@pytest.mark.parametrize(
    ("n", "seed", "shape"),
    [(10, 1, "uniform"), (10, 2, "pyramid"), (20, 1, "uniform"), (20, 2, "pyramid"),
     (50, 1, "uniform"), (50, 2, "pyramid"), (100, 1, "uniform"), (100, 2, "pyramid")],
)
def test_a_stable_even_channel_gets_a_full_round_robin(n, seed, shape):
    people = channel(n, seed, shape)
    rounds = simulate(people, n, seed=seed)
    assert len(rounds) == n - 1  # the most there can be: everyone has met everyone
    met = {frozenset(g) for r in rounds for g in r.groups}
    assert len(met) == n * (n - 1) // 2
    # the first rounds pair juniors with seniors: the widest spread any round can have
    half = n // 2
    wide = half - 1 if half % 2 else half
    for r in rounds[:wide]:
        assert r.score.mean_level_spread == pytest.approx(best_spread(people))


@pytest.mark.parametrize(
    ("n", "seed", "shape"),
    [(21, 1, "uniform"), (21, 2, "uniform"), (21, 3, "pyramid"), (21, 4, "pyramid"),
     (51, 1, "uniform"), (51, 2, "pyramid")],
)
def test_a_stable_odd_channel_gets_nine_tenths_of_the_possible_rounds(n, seed, shape):
    bound = n * (n - 1) // (n + 3)  # every round uses (n+3)/2 of the n(n-1)/2 pairs
    people = channel(n, seed, shape)
    rounds = simulate(people, bound + 1, seed=seed)
    assert len(rounds) >= math.ceil(0.9 * bound)
    # nobody sits in the trio twice in a row unless every repeat-free round needs it
    history = History()
    last: set[str] = set()
    for week, r in enumerate(rounds):
        (trio,) = [g for g in r.groups if len(g) == 3]
        if last & set(trio):
            assert not repeat_free_round_without(people, history, last), week
        last = set(trio)
        history = history.extended(
            PastGroup(DAY + datetime.timedelta(days=7 * week), g) for g in r.groups
        )


def repeat_free_round_without(people, history: History, banned: set[str]) -> bool:
    """Referee: a round of pairs and one trio, nobody repeating, trio avoiding ``banned``."""
    ids = [p.id for p in people]
    unmet = nx.Graph()
    unmet.add_nodes_from(ids)
    unmet.add_edges_from(
        (a, b) for a, b in itertools.combinations(ids, 2) if not history.times_met(a, b)
    )
    for trio in itertools.combinations(ids, 3):
        if set(trio) & banned or not all(unmet.has_edge(a, b)
                                         for a, b in itertools.combinations(trio, 2)):
            continue
        rest = unmet.subgraph([x for x in ids if x not in trio])
        if 2 * len(nx.max_weight_matching(rest, maxcardinality=True)) == len(ids) - 3:
            return True
    return False


def no_avoidable_repeat(history: History, grouping: Grouping) -> None:
    """Referee: a round of pairs with a repeat is only fine when no perfect matching of
    unmet pairs exists."""
    if not grouping.score.repeats:
        return
    ids = [x for g in grouping.groups for x in g]
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(
        (a, b) for a, b in itertools.combinations(ids, 2) if not history.times_met(a, b)
    )
    assert len(nx.max_weight_matching(graph, maxcardinality=True)) < len(ids) // 2


def test_a_channel_that_changes_keeps_going_without_avoidable_repeats():
    people = channel(20, 5)
    history = History()
    repeat_free = 0
    for week in range(19):
        if week == 5:  # one person leaves, someone new joins
            people = people[1:] + [Person("NEW", level=6, department="Eng")]
        grouping = form_groups(people, history, seed=week)
        no_avoidable_repeat(history, grouping)
        if grouping.score.repeats:
            break
        repeat_free += 1
        history = history.extended(
            PastGroup(DAY + datetime.timedelta(days=7 * week), g) for g in grouping.groups
        )
    assert repeat_free >= 16


@pytest.mark.parametrize("n", [20, 50])
def test_spread_over_ten_rounds_is_close_to_the_best_round_by_round(n):
    """Against exact max-weight matching over unmet pairs, round after round."""
    people = channel(n, 7)
    level = {p.id: p.level for p in people}
    ours = simulate(people, 10, seed=7)
    assert len(ours) == 10
    graph = nx.complete_graph([p.id for p in people])
    exact = []
    for _ in range(10):
        for a, b in graph.edges:
            graph[a][b]["weight"] = abs(level[a] - level[b]) + 100  # all pairs, widest first
        matching = nx.max_weight_matching(graph, maxcardinality=True)
        if len(matching) < n // 2:
            break
        exact.append(sum(abs(level[a] - level[b]) for a, b in matching) / len(matching))
        graph.remove_edges_from(matching)
    mine = [r.score.mean_level_spread for r in ours[: len(exact)]]
    assert sum(mine) >= 0.95 * sum(exact)


def test_groups_of_three_stay_repeat_free_for_most_of_the_possible_rounds():
    people = channel(30, 3)
    rounds = simulate(people, 14, Rules(group_size=3), seed=3)
    assert len(rounds) >= 9  # at most (30-1)/(3-1) = 14 rounds are possible at all


@pytest.mark.parametrize(("n", "k"), [(9, 3), (27, 3), (81, 3), (16, 4), (64, 4), (25, 5)])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_channel_of_k_to_a_power_meets_everyone_once_in_groups_of_k(n, k, seed):
    """The affine schedule: (n-1)/(k-1) rounds, every pair exactly once, widest round first."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    bound = (n - 1) // (k - 1)
    rounds = simulate(people, bound + 1, Rules(group_size=k), seed=seed)
    assert len(rounds) == bound
    assert all(len(g) == k for r in rounds for g in r.groups)
    met = {frozenset(p) for r in rounds for g in r.groups for p in itertools.combinations(g, 2)}
    assert len(met) == n * (n - 1) // 2
    # the first round has the widest total spread any split into groups of k can have
    levels = sorted(p.level for p in people)
    g = n // k
    widest = (sum(levels[-g:]) - sum(levels[:g])) / g
    assert rounds[0].score.mean_level_spread == pytest.approx(widest)


@pytest.mark.parametrize(
    ("n", "k", "at_least", "seeds"),
    [(30, 3, 11, (1, 2, 3)), (60, 3, 25, (1, 2)), (30, 4, 5, (1, 2, 3)), (61, 4, 13, (1, 2))],
)
def test_larger_groups_stay_repeat_free_close_to_the_bound(n, k, at_least, seeds):
    """Other sizes: swaps, then a backtracking search once the swaps leave a repeat.

    The bound is floor((n-1)/(k-1)): 14, 29, 9 and 20 here (fewer for 30 in groups of 4,
    which needs two groups of 5 every round).
    """
    for seed in seeds:
        people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
        rounds = simulate(people, n, Rules(group_size=k), seed=seed)
        assert len(rounds) >= at_least, (seed, len(rounds))


def random_rounds(people, rounds: int, seed: int, size: int = 2) -> list[PastGroup]:
    """Rounds that did not come from this engine: imported, or made by random shuffling."""
    rng = random.Random(seed)
    ids = [p.id for p in people]
    past = []
    for week in range(rounds):
        rng.shuffle(ids)
        day = DAY - datetime.timedelta(days=7 * (rounds - week))
        past += [PastGroup(day, tuple(ids[i : i + size]))
                 for i in range(0, len(ids) - size + 1, size)]
    return past


def total_spread(grouping: Grouping, people) -> int:
    level = {p.id: p.level for p in people}
    return sum(max(level[x] for x in g) - min(level[x] for x in g) for g in grouping.groups)


def widest_total(people) -> int:
    """The widest total spread any round of pairs can have, whatever the history: at least
    the exact optimum over the pairs that never met."""
    levels = sorted(p.level for p in people)
    m = len(levels) // 2
    return sum(levels[-m:]) - sum(levels[:m])


@pytest.mark.parametrize("shape", ["uniform", "pyramid"])
def test_the_first_round_after_imported_random_rounds_is_as_wide_as_exact_matching(shape):
    for seed in range(12):
        people = channel(200, seed, shape)
        grouping = form_groups(people, random_rounds(people, 10, seed), seed=seed)
        assert grouping.score.repeats == 0
        assert total_spread(grouping, people) >= 0.95 * widest_total(people), seed


def test_the_first_round_after_a_partial_import_is_as_wide_as_exact_matching():
    """History for some members only (say an import covering the first 120)."""
    for seed in range(4):
        people = channel(200, 50 + seed)
        grouping = form_groups(people, random_rounds(people[:120], 10, seed), seed=seed)
        assert grouping.score.repeats == 0
        assert total_spread(grouping, people) >= 0.95 * widest_total(people), seed


@pytest.mark.parametrize(("weeks", "changed"), [(3, 1), (12, 8), (40, 30)])
def test_after_the_roster_changes_the_next_round_is_as_wide_as_exact_matching(weeks, changed):
    """The engine's own history, then some people leave and others join."""
    for seed in range(2):
        everyone = channel(200 + changed, 100 + seed)
        people = everyone[:200]
        history = History()
        for week in range(weeks):
            grouping = form_groups(people, history, seed=week)
            history = history.extended(
                PastGroup(DAY + datetime.timedelta(days=7 * week), g) for g in grouping.groups
            )
        people = people[changed:] + everyone[200:]
        grouping = form_groups(people, history, seed=seed)
        assert grouping.score.repeats == 0
        assert total_spread(grouping, people) >= 0.95 * widest_total(people), seed


def test_the_widest_total_is_what_exact_matching_reaches_after_random_rounds():
    """Checks the yardstick above on one member set: networkx's exact maximum-weight
    matching over never-met pairs reaches the widest total, and so does the engine."""
    people = channel(120, 3)
    past = random_rounds(people, 10, 3)
    met = {frozenset(p) for g in past for p in itertools.combinations(g.member_ids, 2)}
    level = {p.id: p.level for p in people}
    graph = nx.Graph()
    graph.add_weighted_edges_from(
        (a, b, abs(level[a] - level[b]) + 100)
        for a, b in itertools.combinations(level, 2) if frozenset((a, b)) not in met
    )
    exact = nx.max_weight_matching(graph, maxcardinality=True)
    assert len(exact) == 60
    assert sum(abs(level[a] - level[b]) for a, b in exact) == widest_total(people)
    assert total_spread(form_groups(people, past, seed=3), people) == widest_total(people)


def widest_mean(people, groups: int) -> float:
    """The widest mean spread of a round of ``groups`` groups: one of the most junior and one
    of the most senior people in each."""
    levels = sorted(p.level for p in people)
    return (sum(levels[-groups:]) - sum(levels[:groups])) / groups


@pytest.mark.parametrize(("n", "seed"), [(28, 1), (40, 2)])
def test_channels_of_3q_plus_1_in_fours_meet_everyone_once(n, seed):
    """n = 3q + 1 with q = 1 (mod 4) a prime power: the full (n - 1) / 3 rounds."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    rounds = simulate(people, n, Rules(group_size=4), seed=seed)
    assert len(rounds) == (n - 1) // 3
    met = {frozenset(p) for r in rounds for g in r.groups for p in itertools.combinations(g, 2)}
    assert len(met) == n * (n - 1) // 2
    widest = widest_mean(people, n // 4)
    assert all(r.score.mean_level_spread >= 0.9 * widest for r in rounds[:3])


@pytest.mark.parametrize("seed", [1, 2])
def test_eighty_in_fours_reach_25_of_26_rounds_with_the_spread_kept(seed, monkeypatch):
    """80 = 4 x 20: the quadrupled design gives 25 rounds (95% of the bound is 24.7); the
    round-by-round search stops short, and over the rounds it reaches the design's rounds
    are at least as wide (within the 5% the matching issue allows)."""
    people = channel(80, seed, "uniform" if seed % 2 else "pyramid")
    rounds = simulate(people, 80, Rules(group_size=4), seed=seed)
    assert len(rounds) == 25
    monkeypatch.setattr(designs, "_fours", designs._quadruples)  # as before the construction
    designs._front_loaded.cache_clear()
    before = simulate(people, 80, Rules(group_size=4), seed=seed)
    designs._front_loaded.cache_clear()
    assert len(before) < 25

    def mean(done):
        return sum(r.score.mean_level_spread for r in done[: len(before)]) / len(before)

    assert mean(rounds) >= 0.95 * mean(before)


@pytest.mark.parametrize(("n", "seed"), [(39, 1), (57, 2), (51, 3), (45, 4)])
def test_kirkman_channels_in_threes_meet_everyone_once(n, seed):
    """n = 3q or 2q + 1 with q = 1 (mod 6) a prime power: the full (n - 1) / 2 rounds."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    rounds = simulate(people, n, Rules(group_size=3), seed=seed)
    assert len(rounds) == (n - 1) // 2
    met = {frozenset(p) for r in rounds for g in r.groups for p in itertools.combinations(g, 2)}
    assert len(met) == n * (n - 1) // 2
    # people are placed on the system so that the wide rounds come first (the total of a full
    # cycle is fixed): the first rounds stay close to the widest any round can have
    widest = widest_mean(people, n // 3)
    assert all(r.score.mean_level_spread >= 0.9 * widest for r in rounds[:3])
    first, rest = rounds[: len(rounds) // 2], rounds[len(rounds) // 2 :]
    assert (sum(r.score.mean_level_spread for r in first) / len(first)
            > sum(r.score.mean_level_spread for r in rest) / len(rest))


@pytest.mark.parametrize(("n", "k", "seed", "share"),
                         [(35, 5, 1, 0.8), (48, 6, 2, 0.8), (56, 7, 1, 0.8), (70, 8, 2, 0.8),
                          (32, 4, 1, 0.75), (44, 4, 2, 0.75)])
def test_larger_groups_with_a_field_of_groups_reach_most_of_the_bound(n, k, seed, share):
    """q groups with q a prime power at least k: q rounds, each of the widest spread."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    sizes = [len(g) for g in form_groups(people, [], Rules(group_size=k), seed=0).groups]
    bound = (n * (n - 1) // 2) // sum(s * (s - 1) // 2 for s in sizes)
    rounds = simulate(people, n, Rules(group_size=k), seed=seed)
    assert len(rounds) >= share * bound
    assert len(rounds) >= len(sizes)
    for r in rounds[: len(sizes)]:
        assert r.score.mean_level_spread == pytest.approx(widest_mean(people, len(sizes)))


def workplace(n: int, seed: int) -> list[Person]:
    """Three offices (two in one time zone) and people working remotely around them, some
    with no time zone at all: the remote ones could lunch with more than one office."""
    rng = random.Random(seed)
    places = [("Lisbon", 0), ("London", 0), ("Berlin", 60)] * 2 + [
        (None, offset) for offset in (0, 0, 60, 120, -300, -360, None, None)]
    return [Person(f"W{i:02d}", rng.randint(1, 8), rng.choice(["Sales", "Eng", "Ops"]),
                   *rng.choice(places)) for i in range(n)]  # fmt: skip


@pytest.mark.parametrize(("k", "seed"), [(2, 0), (2, 2), (3, 0)])
def test_a_workplace_beside_an_office_of_600_keeps_most_of_its_repeat_free_rounds(
    k, seed, monkeypatch
):
    """Past 600 people a round is not grouped again as one pool; the places with a repeat
    or someone left out are, with the pools their people could also lunch in (of a pool
    too large, those with no place and no time zone). A workplace of 60 beside an office
    of 600 elsewhere then reaches at least three quarters of the repeat-free rounds it
    reaches on its own, and at least twice as many as with the pools cut before grouping
    (measured: 11-12 of 12-14 in pairs against 1-3, 5 of 4 in threes against 1)."""
    from bot.domain.matching import engine

    small = workplace(60, seed)
    office = [Person(f"T{i:03d}", 1 + i % 8, "Ops", "Tokyo", 540) for i in range(600)]
    alone = simulate(small, 30, Rules(group_size=k), seed=seed)
    beside = simulate(small + office, 30, Rules(group_size=k), seed=seed)
    monkeypatch.setattr(engine, "NEAR_MISS_PEOPLE", 0)  # the pools as cut, as before
    cut = simulate(small + office, 30, Rules(group_size=k), seed=seed)
    assert len(beside) >= 0.75 * len(alone) and len(beside) >= 2 * len(cut)
