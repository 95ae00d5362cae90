"""The built schedules: finite fields, and every construction against its promise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot.domain.matching.designs import (
    design_rounds,
    field,
    kirkman_rounds,
    quadruple_rounds,
    transversal_rounds,
)
from bot.domain.matching.pool import group_sizes


@pytest.mark.parametrize("q", [2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 25, 27, 32, 49])
def test_the_tables_make_a_field(q):
    add, mul = field(q)
    every = list(range(q))
    assert all(sorted(row) == every for row in add.tolist())  # every x + a is a permutation
    assert all(sorted(row) == every[1:] for row in mul[1:, 1:].tolist())  # inverses exist
    a, b, c = np.random.default_rng(q).integers(0, q, (3, 500))
    assert (mul[a, add[b, c]] == add[mul[a, b], mul[a, c]]).all()
    assert (mul[a, mul[b, c]] == mul[mul[a, b], c]).all()
    assert (add[a, add[b, c]] == add[add[a, b], c]).all()


def check_schedule(rounds: np.ndarray, n: int) -> set[frozenset[int]]:
    """Every round seats everyone exactly once; no pair meets twice. Returns the pairs."""
    met: set[frozenset[int]] = set()
    for groups in rounds.tolist():
        assert sorted(x for g in groups for x in g if x >= 0) == list(range(n))
        for group in groups:
            for pair in itertools.combinations([x for x in group if x >= 0], 2):
                assert frozenset(pair) not in met
                met.add(frozenset(pair))
    return met


@pytest.mark.parametrize("n", [15, 21, 27, 39, 45, 51, 57, 63, 75, 81, 87, 93, 99, 111, 117])
def test_kirkman_triple_systems_meet_everyone_exactly_once(n):
    rounds = kirkman_rounds(np.arange(n))
    assert rounds.shape == ((n - 1) // 2, n // 3, 3)
    assert len(check_schedule(rounds, n)) == n * (n - 1) // 2


@pytest.mark.parametrize("n", [28, 40, 52, 76, 88, 112])
def test_resolvable_designs_of_fours_meet_everyone_exactly_once(n):
    rounds = quadruple_rounds(np.arange(n))
    assert rounds.shape == ((n - 1) // 3, n // 4, 4)
    assert len(check_schedule(rounds, n)) == n * (n - 1) // 2


@pytest.mark.parametrize(("n", "rounds"), [(80, 25), (128, 41), (96, 31)])
def test_fours_quadrupled_meet_once_and_first_take_one_of_each_level_quarter(n, rounds):
    """n = 4q: q rounds across the four quarters of the level order, then a schedule of
    fours on q inside each quarter (20 in fours: 5 rounds; 32: 8 across its own quarters
    and 1 inside them; 24: the stored schedule's 7, over a stored difference matrix of order
    24: 31 rounds, the bound)."""
    found = quadruple_rounds(np.arange(n))
    assert found.shape == (rounds, n // 4, 4)
    check_schedule(found, n)
    q = n // 4
    for groups in found[:q]:
        assert (np.sort(groups // q, axis=1) == np.arange(4)).all()
    for groups in found[q:]:
        assert (groups // q == groups[:, :1] // q).all()  # inside one quarter


def test_placing_people_for_wide_rounds_first_keeps_the_design():
    levels = np.sort(np.random.default_rng(4).integers(1, 9, 52)).astype(float)
    rounds = quadruple_rounds(np.arange(52), levels)
    assert len(check_schedule(rounds, 52)) == 52 * 51 // 2


@pytest.mark.parametrize("n", [33, 69, 30, 60])
def test_no_kirkman_system_is_claimed_where_none_is_built(n):
    assert kirkman_rounds(np.arange(n)) is None


def test_transversal_schedules_for_every_size_up_to_120():
    built = set()
    for k in range(4, 9):
        for n in range(k * k, 121):
            sizes = group_sizes(n, k)
            rounds = transversal_rounds(np.arange(n), sizes)
            if rounds is None or max(sizes) > k:
                continue
            built.add((n, k))
            check_schedule(rounds, n)
            q = len(sizes)
            for groups in rounds[:q]:
                assert sorted((groups >= 0).sum(axis=1).tolist()) == sorted(sizes)
                # one of the q most junior and one of the q most senior people in every group
                assert ((groups >= 0) & (groups < q)).sum(axis=1).tolist() == [1] * q
                assert (groups >= n - q).sum(axis=1).tolist() == [1] * q
            # all groups full and k dividing q: one more round, inside the level bands
            assert len(rounds) == q + (n == k * q and q % k == 0)
            for groups in rounds[q:]:
                assert (groups // q == groups[:, :1] // q).all()
            bound = (n * (n - 1) // 2) / sum(s * (s - 1) // 2 for s in sizes)
            assert len(rounds) >= (k - 1) / k * bound
    assert len(built) >= 50
    # numbers of groups no field gives, from the stored difference matrices: 12, 15, 21, 24
    assert {(48, 4), (60, 4), (84, 4), (96, 4), (60, 5), (75, 5), (72, 6)} <= built


@pytest.mark.parametrize(("n", "k", "rounds"), [(27, 3, 13), (39, 3, 19), (35, 5, 7),
                                                (70, 8, 9), (64, 4, 21), (28, 4, 9), (80, 4, 25), (44, 4, 11), (30, 3, 14),
                                                (33, 3, 16), (96, 4, 31), (48, 4, 13),
                                                (60, 5, 12), (75, 5, 16), (72, 6, 13),
                                                (36, 6, None), (33, 5, None), (50, 5, None)])
def test_the_engine_uses_the_schedule_that_fits(n, k, rounds):
    found = design_rounds(np.arange(n), k, group_sizes(n, k))
    assert (found is None) if rounds is None else len(found) == rounds


def test_a_transversal_schedule_needs_a_field_of_the_number_of_groups():
    assert transversal_rounds(np.arange(30), [5] * 6) is None  # no field with 6 elements
    assert transversal_rounds(np.arange(50), [5] * 10) is None  # nor any group of order 10
    assert transversal_rounds(np.arange(24), [8] * 3) is None  # fewer groups than seats
