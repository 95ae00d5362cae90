"""Schedules found once by a SAT solver and stored (bot/domain/matching/golf_schedules.py)."""

from __future__ import annotations

import importlib.util
import pathlib
import statistics

import pytest
from test_matching_designs import check_schedule
from test_matching_simulation import channel, simulate

from bot.domain.matching import Rules, designs, golfer
from bot.domain.matching.golf_schedules import BASE_ROUNDS, LIVE_ROUNDS, NOT_FOUND
from bot.domain.matching.golfer import round_bound, stored_schedule
from bot.domain.matching.pool import group_sizes

FINDER = pathlib.Path(__file__).parents[1] / "bench" / "find_schedules.py"


def usual_size(sizes: tuple[int, ...]) -> int:
    n = sum(sizes)
    return next(k for k in range(3, 9) if tuple(sorted(group_sizes(n, k), reverse=True)) == sizes)


def share_asked(n: int, k: int) -> float:
    """What the matching issue holds the engine to, as a share of the bound."""
    if k <= 4:
        return 0.95 if n % k == 0 else 0.90
    return 0.80


@pytest.mark.parametrize("sizes", sorted(BASE_ROUNDS), ids=lambda s: f"{sum(s)}-in-{s[-1]}s")
def test_every_stored_schedule_seats_everyone_once_a_round_never_repeats_and_is_worth_storing(
    sizes,
):
    n, k = sum(sizes), usual_size(sizes)
    rounds = stored_schedule(sizes)
    check_schedule(rounds, n)
    for groups in rounds:
        assert sorted((groups >= 0).sum(axis=1).tolist(), reverse=True) == list(sizes)
    assert len(rounds) >= share_asked(n, k) * round_bound(n, sizes)


@pytest.mark.parametrize("sizes", sorted(LIVE_ROUNDS), ids=lambda s: f"{sum(s)}-in-{s[-1]}s")
def test_every_kept_search_result_seats_everyone_once_a_round_and_never_repeats(sizes):
    rounds = golfer.developed(LIVE_ROUNDS[sizes], sizes)
    check_schedule(rounds, sum(sizes))
    assert len(rounds) >= golfer.LEAST_SHARE * round_bound(sum(sizes), sizes)


@pytest.mark.parametrize("n", [18, 30, 53, 13])
def test_the_kept_search_results_are_what_the_search_finds(n):
    """The engine takes LIVE_ROUNDS and NOT_FOUND instead of running the search, so they
    must be its results (as bench/find_schedules.py --live writes them)."""
    sizes = tuple(sorted(group_sizes(n, 3), reverse=True))
    found = golfer.live_search(n, sizes)
    if found is None:
        assert sizes in NOT_FOUND
    else:
        m, r, f, base = found
        assert LIVE_ROUNDS[sizes] == (m, r, f, tuple(golfer.encode(row) for row in base))


def test_the_finder_rebuilds_a_stored_schedule():
    """The table is what bench/find_schedules.py writes: the same clauses give the same
    base rounds (24 people in fours, 7 rounds: the bound)."""
    spec = importlib.util.spec_from_file_location("find_schedules", FINDER)
    finder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(finder)
    sizes = (4,) * 6
    m, r, f, rows = BASE_ROUNDS[sizes]
    base = finder.solve(m, len(rows), r, f, sizes)
    assert tuple(golfer.encode(row) for row in base) == rows


def test_the_finder_builds_kirkman_systems_with_rounds_across_the_level_bands():
    """The form the finder asks for (--kirkman): every pair of 21 people once in 10 rounds,
    the first 3 with one person of each band (a third of the levels) in every group."""
    spec = importlib.util.spec_from_file_location("find_schedules", FINDER)
    finder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(finder)
    rows = finder.solve_kirkman(7)
    rounds = golfer.develop(rows, 1, 21, (3,) * 7)
    check_schedule(rounds, 21)
    assert len(rounds) == round_bound(21, (3,) * 7) == 10
    for groups in rounds[:3]:
        assert all(sorted(x // 7 for x in g) == [0, 1, 2] for g in groups.tolist())


@pytest.fixture
def forget_stored(monkeypatch):
    """Call to run the engine as if nothing were stored: the live search's schedules, not
    cached stored ones; the caches are emptied again afterwards for the tests that follow."""

    def forget():
        monkeypatch.setattr(golfer, "BASE_ROUNDS", {})
        golfer.golfer_rounds.cache_clear()
        designs._front_loaded.cache_clear()

    yield forget
    golfer.golfer_rounds.cache_clear()
    designs._front_loaded.cache_clear()


@pytest.mark.parametrize(
    ("n", "k", "seed"),
    [(24, 4, 1), (24, 4, 2), (30, 5, 1), (30, 5, 2), (46, 5, 7), (33, 3, 1), (33, 3, 2)],
)
def test_channels_reach_the_stored_schedules_rounds_with_the_spread_kept(
    n, k, seed, forget_stored
):
    """24 in fours: all 7 rounds (the bound); 30 in fives: 6 of 7; 46 in fives (a group of
    six a round): 8 of 10, nobody in the six two rounds running, which takes following the
    schedule in an order that keeps that rule (on this channel, widest round first gives
    7); 33 in threes: all 16 (a Kirkman system). Without the stored schedule the engine
    stops short (4-6 rounds; 33 in threes: 13), and over the rounds it does reach the spread
    stays within 5%."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    stored = simulate(people, n, Rules(group_size=k), seed=seed)
    assert len(stored) == golfer.stored_rounds(tuple(group_sizes(n, k)))
    enlarged = [{x for g in r.groups if len(g) > k for x in g} for r in stored]
    assert not any(a & b for a, b in zip(enlarged, enlarged[1:], strict=False))
    forget_stored()
    searched = simulate(people, n, Rules(group_size=k), seed=seed)
    assert len(searched) < len(stored)

    def mean(rounds):
        return statistics.mean(r.score.mean_level_spread for r in rounds[: len(searched)])

    assert mean(stored) >= 0.95 * mean(searched)


@pytest.mark.parametrize(("n", "seed", "short"), [(37, 1, 0), (38, 2, 0), (26, 1, 1)])
def test_channels_in_threes_with_extra_seats_reach_the_bound_and_pass_the_fours_around(
    n, seed, short, forget_stored
):
    """37 in threes (one group of four a round) and 38 (two): 17 of 17 and 16 of 16 rounds,
    before 14; 26 (two): 9 of 10, the share asked, before 8; nobody sits in a group of four
    two rounds running."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    stored = simulate(people, n, Rules(group_size=3), seed=seed)
    assert len(stored) == round_bound(n, tuple(group_sizes(n, 3))) - short
    fours = [{x for g in r.groups if len(g) == 4 for x in g} for r in stored]
    assert not any(a & b for a, b in zip(fours, fours[1:], strict=False))
    forget_stored()
    assert len(simulate(people, n, Rules(group_size=3), seed=seed)) < len(stored)
