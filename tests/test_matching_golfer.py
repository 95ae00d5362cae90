"""Searched schedules (social golfer search) where no design construction applies."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest
from test_matching_designs import check_schedule
from test_matching_simulation import channel, simulate

from bot.domain.matching import Rules, designs
from bot.domain.matching.designs import design_rounds, kirkman_rounds, searched_rounds
from bot.domain.matching.golfer import golfer_rounds, round_bound
from bot.domain.matching.pool import group_sizes


@pytest.mark.parametrize(("n", "k"), [(18, 3), (24, 3), (30, 3), (25, 3), (26, 3), (24, 4)])
def test_every_searched_schedule_seats_everyone_once_a_round_and_never_repeats(n, k):
    sizes = tuple(group_sizes(n, k))
    rounds = golfer_rounds(n, sizes)
    assert rounds is not None
    check_schedule(rounds, n)
    for groups in rounds:
        assert sorted((groups >= 0).sum(axis=1).tolist()) == sorted(sizes)
    levels = np.sort(np.random.default_rng(n).integers(1, 9, n)).astype(float)
    placed = searched_rounds(np.arange(n), list(sizes), levels)
    if sizes.count(max(sizes)) > 1 and placed is None:
        return  # no order keeps the rotation rule: the engine groups round by round
    assert len(placed) == len(rounds)
    check_schedule(placed, n)


@pytest.mark.parametrize("n", [18, 24, 30])
def test_nearly_kirkman_systems_for_threes_when_six_divides_the_count(n):
    """Everyone meets everyone but one other person, in (n - 2) / 2 rounds."""
    rounds = design_rounds(np.arange(n), 3, group_sizes(n, 3))
    assert len(rounds) == (n - 2) // 2
    assert len(check_schedule(rounds, n)) == n * (n - 1) // 2 - n // 2


def test_the_same_roster_gets_the_same_schedule_in_every_process():
    script = ("import json; from bot.domain.matching.golfer import golfer_rounds; "
              "print(json.dumps(golfer_rounds(25, (4, 3, 3, 3, 3, 3, 3, 3)).tolist()))")
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    ]
    assert json.loads(runs[0]) == json.loads(runs[1])
    assert json.loads(runs[0]) == golfer_rounds(25, (4, 3, 3, 3, 3, 3, 3, 3)).tolist()


@pytest.mark.parametrize(("n", "seed"), [(24, 1), (30, 2), (36, 3)])
def test_channels_in_threes_reach_the_bound_when_six_divides_the_count(n, seed):
    """(n - 2) / 2 rounds, 95% or more of floor((n - 1) / 2) (before: 9 of 11, 11 of 14,
    14 of 17)."""
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    rounds = simulate(people, n, Rules(group_size=3), seed=seed)
    assert len(rounds) >= 0.95 * ((n - 1) // 2)


def test_a_channel_with_an_extra_seat_reaches_nine_tenths_of_the_pair_bound():
    """25 in threes: one group of four a round; before, 8 of 11 rounds."""
    people = channel(25, 1)
    rounds = simulate(people, 25, Rules(group_size=3), seed=1)
    assert len(rounds) >= 0.9 * round_bound(25, tuple(group_sizes(25, 3)))
    # the group of four changes hands: nobody sits in it more than twice, and only where the
    # rounds left force it (the last rounds of the schedule) someone sits there twice in a row
    fours = [next(set(g) for g in r.groups if len(g) == 4) for r in rounds]
    seats = [x for four in fours for x in four]
    assert max(seats.count(x) for x in seats) <= 2
    assert sum(bool(a & b) for a, b in zip(fours, fours[1:], strict=False)) <= 1


@pytest.mark.parametrize(("n", "seed"), [(24, 1), (30, 2), (50, 1)])
def test_the_spread_stays_within_five_percent_of_the_round_by_round_search(
    n, seed, monkeypatch
):
    people = channel(n, seed, "uniform" if seed % 2 else "pyramid")
    found = simulate(people, n, Rules(group_size=3), seed=seed)
    monkeypatch.setattr(designs, "GOLF_LIMIT", 0)  # the search, round by round
    searched = simulate(people, n, Rules(group_size=3), seed=seed)
    first = len(searched)
    assert len(found) > first

    def mean(rounds):
        return statistics.mean(r.score.mean_level_spread for r in rounds[:first])

    assert mean(found) >= 0.95 * mean(searched)


@pytest.mark.parametrize("n", [72, 108])
def test_three_times_a_nearly_kirkman_system_starts_with_one_person_of_each_level_third(n):
    rounds = kirkman_rounds(np.arange(n))
    assert rounds.shape == ((n - 2) // 2, n // 3, 3)
    assert len(check_schedule(rounds, n)) == n * (n - 1) // 2 - n // 2
    thirds = np.sort(rounds[: n // 3] // (n // 3), axis=2)
    assert (thirds == [0, 1, 2]).all()


def test_a_channel_of_72_in_threes_reaches_the_bound_with_wider_rounds(monkeypatch):
    """All 35 rounds (before: 31), and wider over the rounds both reach: the first 24 have
    one person of each level third in every group."""
    people = channel(72, 1)
    found = simulate(people, 72, Rules(group_size=3), seed=1)
    assert len(found) == 35
    monkeypatch.setattr(designs, "kirkman_rounds", lambda order, levels=None: None)
    searched = simulate(people, 72, Rules(group_size=3), seed=1)  # round by round
    first = len(searched)
    assert first < 35

    def mean(rounds):
        return statistics.mean(r.score.mean_level_spread for r in rounds[:first])

    assert mean(found) >= 0.95 * mean(searched)
    assert mean(found[:24]) > mean(searched[:24])


def test_a_channel_with_two_extra_seats_a_round_reaches_nine_tenths_of_the_pair_bound():
    """50 in threes: two groups of four a round; before, 19 of 22 rounds. The schedule is
    taken in an order in which nobody sits in a group of four two rounds in a row."""
    people = channel(50, 1)
    rounds = simulate(people, 50, Rules(group_size=3), seed=1)
    assert len(rounds) >= 0.9 * round_bound(50, tuple(group_sizes(50, 3)))
    fours = [set().union(*(g for g in r.groups if len(g) == 4)) for r in rounds]
    assert all(len(four) == 8 for four in fours)
    assert not any(a & b for a, b in zip(fours, fours[1:], strict=False))
