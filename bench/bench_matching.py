"""Speed and quality of the matching engine.

    python bench/bench_matching.py            # everything (several minutes; networkx needed
                                              # for the comparison with exact matching)
    python bench/bench_matching.py --quick    # smaller sizes and fewer seeds (about a minute)
    python bench/bench_matching.py --only scale,preview,quality,baseline,churn,groups,\
                                          coverage,imported,scale4,apart,pools
    python bench/bench_matching.py --json results.json

Sections:

* scale: one round of 100,000 members with 1,000,000 past pairs (and 10,000 with 100,000):
  time to index the history, engine time (median of 3) and the engine's peak memory;
* preview: ``python -m bot preview`` as a whole process on generated CSV files of that size;
* quality: level spread against exact maximum-weight matching (networkx), first round and
  the first 10 rounds, for uniform and pyramid-shaped levels, and rounds reached;
* baseline: repeat-free rounds reached against random shuffling with up to 100 retries;
* churn: repeat-free rounds in a row when one member is replaced after four rounds;
* groups: repeat-free rounds reached for groups of 3-8 against the bound, and the mean spread
  of those rounds;
* coverage: every roster size from 24 to 120 in groups of 3-8 (one channel each, seed 0):
  rounds reached against the share of the bound the matching issue asks (about 40 minutes;
  ``--quick``: groups of 3 and 4 only, about 11);
* imported: the first round of 200 people after 10 random rounds from elsewhere, against
  exact maximum-weight matching over the pairs that never met (networkx);
* scale4: one round in groups of 4 for 10,000 and 100,000 members with 200,000 past groups.
* apart: the time avoid lists add, and whether anyone is left out because of them;
* pools: repeat-free rounds in a row for offices and remote people, pools chosen with the
  groups against pools fixed before grouping.

Levels are 1..8: uniform, or a pyramid (many juniors, few seniors).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.domain.matching import History, PastGroup, Person, Rules, form_groups  # noqa: E402
from bot.domain.matching.pool import group_sizes  # noqa: E402

DAY = datetime.date(2024, 1, 1)
DEPARTMENTS = [f"Dept {i}" for i in range(12)]


def levels_for(n: int, rng: np.random.Generator, shape: str) -> np.ndarray:
    if shape == "uniform":
        return rng.integers(1, 9, n)
    return np.minimum(8, 1 + rng.exponential(1 / 0.6, n).astype(int))  # pyramid


def make_people(n: int, seed: int, shape: str = "uniform") -> list[Person]:
    rng = np.random.default_rng(seed)
    levels = levels_for(n, rng, shape)
    depts = rng.integers(0, len(DEPARTMENTS), n)
    return [
        Person(f"U{i:06d}", level=int(levels[i]), department=DEPARTMENTS[depts[i]])
        for i in range(n)
    ]


def random_history(ids: list[str], pairs: int, seed: int):
    """Weekly rounds of random pairs until ``pairs`` pairs, newest last."""
    rng = np.random.default_rng(seed)
    n = len(ids)
    rounds = -(-pairs // (n // 2))
    dates, groups = [], []
    for r in range(rounds):
        perm = rng.permutation(n)
        day = DAY - datetime.timedelta(days=7 * (rounds - r))
        take = min(n // 2, pairs - len(groups))
        for i in range(take):
            dates.append(day)
            groups.append((ids[perm[2 * i]], ids[perm[2 * i + 1]]))
    return dates, groups


def median_time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------------------------ scale
def bench_scale(quick: bool) -> list[dict]:
    results = [_scale(n, pairs, quick) for n, pairs in [(10_000, 100_000), (100_000, 1_000_000)]]
    return results


def _scale(n: int, pairs: int, quick: bool) -> dict:
    people = make_people(n, 1)
    ids = [p.id for p in people]
    dates, groups = random_history(ids, pairs, 2)
    build = median_time(lambda: History.from_rows(dates, groups), 1 if quick else 3)
    history = History.from_rows(dates, groups)
    seeds = iter(range(100))
    engine = median_time(lambda: form_groups(people, history, seed=next(seeds)))
    past = [PastGroup(d, g) for d, g in zip(dates, groups, strict=True)]
    raw = median_time(lambda: form_groups(people, past, seed=1), 1)
    tracemalloc.start()
    grouping = form_groups(people, history, seed=5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    k3 = median_time(lambda: form_groups(people, history, Rules(group_size=3), seed=3), 1)
    result = {
        "members": n,
        "past_pairs": len(history),
        "history_index_s": round(build, 3),
        "engine_s": round(engine, 3),
        "engine_with_raw_history_s": round(raw, 3),
        "engine_groups_of_3_s": round(k3, 3),
        "engine_peak_mb": round(peak / 2**20, 1),
        "repeats": grouping.score.repeats,
        "mean_level_spread": round(grouping.score.mean_level_spread, 3),
        "cross_department": round(grouping.score.cross_department, 3),
    }
    print(f"scale: {result}", flush=True)
    return result


# ------------------------------------------------------------------------------------ preview
def bench_preview(quick: bool) -> dict:
    n, pairs = (100_000, 1_000_000)
    people = make_people(n, 3)
    ids = [p.id for p in people]
    zones = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "+02:00"]
    with tempfile.TemporaryDirectory() as tmp:
        members = Path(tmp) / "members.csv"
        history = Path(tmp) / "history.csv"
        with members.open("w") as f:
            f.write("user_id,level,department,location,timezone\n")
            for i, p in enumerate(people):
                f.write(f"{p.id},{p.level},{p.department},,{zones[i % len(zones)]}\n")
        dates, groups = random_history(ids, pairs, 4)
        with history.open("w") as f:
            f.write("date,user_ids\n")
            for d, g in zip(dates, groups, strict=True):
                f.write(f"{d.isoformat()},{' '.join(g)}\n")
        command = [sys.executable, "-m", "bot", "preview", "--members", str(members),
                   "--history", str(history), "--json", "--seed", "1"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        times = []
        for _ in range(1 if quick else 3):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, env=env, cwd=tmp, check=True)
            times.append(time.perf_counter() - start)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        record = json.loads(done.stdout.decode().splitlines()[0])
        result = {
            "members": n,
            "history_rows": len(groups),
            "members_csv_mb": round(members.stat().st_size / 2**20, 1),
            "history_csv_mb": round(history.stat().st_size / 2**20, 1),
            "wall_s": round(statistics.median(times), 2),
            "max_rss_mb": round(rss),
            "groups": len(record["groups"]),
            "unmatched": len(record["unmatched"]),
        }
    print(f"preview: {result}", flush=True)
    return result


# ------------------------------------------------------------------------------------ rounds
def run_rounds(people, rules=Rules(), limit=None, seed=0):  # noqa: B008
    """Repeat-free rounds in a row for a stable channel, and each round's score."""
    history = History()
    scores = []
    for week in range(limit or len(people)):
        grouping = form_groups(people, history, rules, seed=seed * 1000 + week)
        if grouping.score.repeats or grouping.unmatched:
            break
        scores.append(grouping.score)
        history = history.extended(
            PastGroup(DAY + datetime.timedelta(days=7 * week), g) for g in grouping.groups
        )
    return scores


def shuffle_rounds(people, seed, tries=100):
    """The common approach: shuffle, retry up to ``tries`` times while anyone repeats."""
    rng = random.Random(seed)
    ids = [p.id for p in people]
    met: set[frozenset[str]] = set()
    rounds = 0
    while rounds < len(ids):
        for _ in range(tries):
            rng.shuffle(ids)
            pairs = [frozenset(ids[i : i + 2]) for i in range(0, len(ids) - 1, 2)]
            if len(ids) % 2:  # the odd one out joins the last pair
                pairs += [frozenset((ids[-1], x)) for x in ids[-3:-1]]
            if not any(p in met for p in pairs):
                met.update(pairs)
                rounds += 1
                break
        else:
            return rounds
    return rounds


def bench_baseline(quick: bool) -> list[dict]:
    rows = []
    seeds = range(3 if quick else 5)
    for n in (20, 50, 100, 21, 51):
        ours, shuffled = [], []
        for seed in seeds:
            people = make_people(n, seed)
            ours.append(len(run_rounds(people, seed=seed)))
            shuffled.append(shuffle_rounds(people, seed))
        bound = n - 1 if n % 2 == 0 else n * (n - 1) // (n + 3)
        rows.append({"members": n, "bound": bound, "engine": ours, "shuffle_100": shuffled})
        print(f"baseline: {rows[-1]}", flush=True)
    return rows


def bench_quality(quick: bool) -> list[dict]:
    try:
        import networkx as nx
    except ImportError:
        print("quality: skipped (networkx is not installed)")
        return []
    rows = []
    sizes = (20, 50, 100) if quick else (20, 50, 100, 200)
    for shape in ("uniform", "pyramid"):
        for n in sizes:
            for seed in range(1 if quick or n >= 200 else 2):
                people = make_people(n, 100 + seed, shape)
                level = {p.id: p.level for p in people}
                start = time.perf_counter()
                ours = run_rounds(people, seed=seed)
                ours_s = (time.perf_counter() - start) / max(len(ours), 1)
                graph = nx.complete_graph([p.id for p in people])
                exact = []
                start = time.perf_counter()
                while len(exact) < (10 if n >= 100 else n):
                    for a, b in graph.edges:
                        graph[a][b]["weight"] = abs(level[a] - level[b]) + 1000
                    matching = nx.max_weight_matching(graph, maxcardinality=True)
                    if len(matching) < n // 2:
                        break
                    exact.append(sum(abs(level[a] - level[b]) for a, b in matching))
                    graph.remove_edges_from(matching)
                exact_s = (time.perf_counter() - start) / max(len(exact), 1)
                first = ours[0].mean_level_spread * (n // 2)
                ten = min(10, len(exact))
                ours_ten = statistics.mean(s.mean_level_spread for s in ours[:ten])
                exact_ten = statistics.mean(e / (n // 2) for e in exact[:ten])
                rows.append(
                    {
                        "shape": shape,
                        "members": n,
                        "first_round_spread": round(first, 1),
                        "first_round_exact": exact[0],
                        "first_round_ratio": round(first / exact[0], 4),
                        "ten_round_mean": round(ours_ten, 3),
                        "ten_round_exact": round(exact_ten, 3),
                        "ten_round_ratio": round(ours_ten / exact_ten, 4),
                        "rounds_engine": len(ours),
                        "rounds_exact_greedy": len(exact) if n < 100 else f">={len(exact)}",
                        "engine_s_per_round": round(ours_s, 4),
                        "exact_s_per_round": round(exact_s, 3),
                    }
                )
                print(f"quality: {rows[-1]}", flush=True)
    return rows


def churn_rounds(people, seed: int, at: int) -> int:
    """Repeat-free rounds in a row when one member leaves and a new one joins at ``at``."""
    history = History()
    for week in range(len(people) + 1):
        if week == at:
            people = people[1:] + [Person("NEWCOMER", level=5, department=DEPARTMENTS[0])]
        grouping = form_groups(people, history, seed=seed * 1000 + week)
        if grouping.score.repeats:
            return week
        history = history.extended(
            PastGroup(DAY + datetime.timedelta(days=7 * week), g) for g in grouping.groups
        )
    return len(people)


def bench_churn(quick: bool) -> list[dict]:
    rows = []
    for n in (20, 50):
        reached = [churn_rounds(make_people(n, seed), seed, at=4) for seed in range(3 if quick
                                                                                    else 5)]
        rows.append({"members": n, "replaced_after_round": 4, "rounds": reached})
        print(f"churn: {rows[-1]}", flush=True)
    return rows


GROUP_CASES = [
    (24, 3), (30, 3), (36, 3), (42, 3), (48, 3), (60, 3), (25, 3), (50, 3), (44, 3), (47, 3),
    (53, 3), (56, 3), (59, 3), (26, 3), (27, 3), (81, 3), (39, 3), (45, 3), (51, 3), (57, 3), (117, 3),
    (72, 3), (108, 3), (24, 4), (32, 4), (36, 4), (44, 4), (48, 4), (60, 4), (30, 4), (61, 4), (16, 4),
    (64, 4), (28, 4), (40, 4), (52, 4), (80, 4), (30, 5), (35, 5), (40, 5), (45, 5), (46, 5), (48, 6), (56, 7), (70, 8),
    (96, 4), (84, 4), (60, 5), (75, 5), (72, 6), (105, 5),  # over stored difference matrices
    (84, 3), (90, 3), (96, 3), (105, 3), (120, 3),  # grown from schedules with holes
]


def group_bound(n: int, k: int) -> int:
    """Repeat-free rounds possible at most: (n-1)/(k-1) when k divides n, otherwise all pairs
    over the pairs one round uses."""
    if n % k == 0:
        return (n - 1) // (k - 1)
    return (n * (n - 1) // 2) // sum(s * (s - 1) // 2 for s in group_sizes(n, k))


def bench_groups(quick: bool) -> list[dict]:
    rows = []
    for n, k in GROUP_CASES:
        reached, spread, front = [], [], []
        bound = group_bound(n, k)
        first = math.ceil(0.75 * bound)
        start = time.perf_counter()
        for seed in range(2 if quick else 4):
            scores = run_rounds(make_people(n, seed), Rules(group_size=k), seed=seed)
            reached.append(len(scores))
            spread.append(statistics.mean(s.mean_level_spread for s in scores))
            front.append(statistics.mean(s.mean_level_spread for s in scores[:first]))
        rows.append({"members": n, "group_size": k, "bound": bound, "rounds": reached,
                     "share_of_bound": round(min(reached) / bound, 3),
                     "mean_spread": [round(x, 2) for x in spread],
                     # over the first three quarters of the bound (or all rounds, if fewer):
                     # comparable between engines that reach different numbers of rounds
                     "mean_spread_first": [round(x, 2) for x in front],
                     "s_per_channel": round((time.perf_counter() - start) / len(reached), 2)})
        print(f"groups: {rows[-1]}", flush=True)
    return rows


def share_asked(n: int, k: int) -> float:
    """The share of the bound the matching issue asks: 95% for groups of 3-4 that divide the
    count, 90% with extra seats, 80% for groups of 5-8."""
    return 0.80 if k > 4 else 0.95 if n % k == 0 else 0.90


def bench_coverage(quick: bool) -> list[dict]:
    rows = []
    for k in (3, 4) if quick else range(3, 9):
        reaching, single, short = 0, 0, []
        for n in range(24, 121):
            bound = group_bound(n, k)
            asked = math.ceil(share_asked(n, k) * bound - 1e-9)
            reached = len(run_rounds(make_people(n, 0), Rules(group_size=k), seed=0))
            sizes = group_sizes(n, k)
            if reached >= asked:
                reaching += 1
            elif reached == 1 and len(sizes) < max(sizes):
                single += 1  # fewer groups than seats in the largest: no second round exists
            else:
                short.append(f"{n}: {reached}/{bound} (asked {asked})")
        rows.append({"group_size": k, "sizes": 97, "reaching_share": reaching,
                     "one_round_at_most": single, "short": short})
        print(f"coverage: {rows[-1]}", flush=True)
    return rows


def bench_imported(quick: bool) -> list[dict]:
    """The first round after 10 random rounds that did not come from this engine."""
    try:
        import networkx as nx
    except ImportError:
        print("imported: skipped (networkx is not installed)")
        return []
    rows = []
    for seed in range(2 if quick else 5):
        people = make_people(200, 300 + seed)
        ids = [p.id for p in people]
        level = {p.id: p.level for p in people}
        dates, pairs = random_history(ids, 10 * 100, seed)
        history = History.from_rows(dates, pairs)
        grouping = form_groups(people, history, seed=seed)
        ours = sum(max(level[x] for x in g) - min(level[x] for x in g) for g in grouping.groups)
        met = set(map(frozenset, pairs))
        graph = nx.Graph()
        graph.add_weighted_edges_from(
            (a, b, abs(level[a] - level[b]) + 1000)
            for i, a in enumerate(ids) for b in ids[i + 1 :] if frozenset((a, b)) not in met
        )
        exact = nx.max_weight_matching(graph, maxcardinality=True)
        best = sum(abs(level[a] - level[b]) for a, b in exact)
        rows.append({"members": 200, "random_rounds": 10, "first_round_spread": ours,
                     "exact": best, "ratio": round(ours / best, 4),
                     "repeats": grouping.score.repeats})
        print(f"imported: {rows[-1]}", flush=True)
    return rows


def bench_scale4(quick: bool) -> list[dict]:
    return [_scale4(n, quick) for n in (10_000, 100_000)]


def _scale4(n: int, quick: bool) -> dict:
    people = make_people(n, 7)
    ids = [p.id for p in people]
    rng = np.random.default_rng(8)
    dates, groups = [], []
    per = n // 4
    weeks = -(-200_000 // per)
    for week in range(weeks):
        perm = rng.permutation(n)
        day = DAY - datetime.timedelta(days=7 * (weeks - week))
        for i in range(min(per, 200_000 - len(groups))):
            dates.append(day)
            groups.append(tuple(ids[j] for j in perm[4 * i : 4 * i + 4]))
    build = median_time(lambda: History.from_rows(dates, groups), 1)
    history = History.from_rows(dates, groups)
    seeds = iter(range(100))
    engine = median_time(
        lambda: form_groups(people, history, Rules(group_size=4), seed=next(seeds)),
        1 if quick else 3,
    )
    grouping = form_groups(people, history, Rules(group_size=4), seed=99)
    result = {"members": n, "past_groups": len(groups), "past_pairs": len(history),
              "history_index_s": round(build, 2), "engine_s": round(engine, 2),
              "repeats": grouping.score.repeats,
              "mean_level_spread": round(grouping.score.mean_level_spread, 3)}
    print(f"scale4: {result}", flush=True)
    return result


def bench_apart(quick: bool) -> list[dict]:
    """Avoid lists (one pair kept apart per five people): the time they add, as a ratio to
    the same round without them, and whether anyone is left out because of them."""
    results = []
    for n, k in ((2_000, 2), (10_000, 2), (10_000, 4)):
        people = make_people(n, seed=n + k)
        rng = np.random.default_rng(k)
        pairs = [(people[a].id, people[b].id)
                 for a, b in rng.integers(0, n, (n // 5, 2)) if a != b]  # fmt: skip
        rules = Rules(group_size=k)
        plain = median_time(lambda p=people, r=rules: form_groups(p, (), r, seed=1),
                            1 if quick else 3)  # fmt: skip
        kept = median_time(lambda p=people, r=rules, a=pairs: form_groups(p, (), r, seed=1,
                                                                             apart=a),
                           1 if quick else 3)  # fmt: skip
        grouping = form_groups(people, (), rules, seed=1, apart=pairs)
        apart = {frozenset(pair) for pair in pairs}
        together = sum(frozenset(x) in apart for g in grouping.groups
                       for x in itertools.combinations(g, 2))  # fmt: skip
        result = {"members": n, "group_size": k, "pairs_kept_apart": len(pairs),
                  "engine_s": round(plain, 2), "with_apart_s": round(kept, 2),
                  "ratio": round(kept / plain, 2), "unmatched": len(grouping.unmatched),
                  "kept_apart_pairs_grouped": together}  # fmt: skip
        print(f"apart: {result}", flush=True)
        results.append(result)
    return results


def make_workplace(n: int, seed: int) -> list[Person]:
    """Three offices (two in one time zone) and people working remotely around them: the
    remote ones could lunch with more than one office, or with each other."""
    rng = np.random.default_rng(seed)
    people = make_people(n, seed)
    places = [("Lisbon", 0), ("London", 0), ("Berlin", 60)] * 2 + [(None, o) for o in
              (0, 0, 60, 120, -300, -360, None, None)]  # fmt: skip
    picks = rng.integers(0, len(places), n)
    return [Person(p.id, level=p.level, department=p.department, location=places[i][0],
                   utc_offset_minutes=places[i][1]) for p, i in zip(people, picks, strict=True)]  # fmt: skip


def _can_meet(a: Person, b: Person, window_minutes: float) -> bool:
    if a.location and b.location:
        return a.location == b.location
    if a.utc_offset_minutes is None or b.utc_offset_minutes is None:
        return True
    return abs(a.utc_offset_minutes - b.utc_offset_minutes) <= window_minutes


def _fresh_split_exists(ids: list[int], k: int, ok) -> bool:
    """Brute force: can ``ids`` be cut into groups of ``k`` whose pairs all pass ``ok``?"""
    if not ids:
        return True
    first, rest = ids[0], ids[1:]
    for others in itertools.combinations(rest, k - 1):
        group = (first, *others)
        if all(ok(x, y) for x, y in itertools.combinations(group, 2)) and _fresh_split_exists(
            [x for x in rest if x not in others], k, ok
        ):
            return True
    return False


def _small_instances(k: int, count: int, seed: int):
    """Random rounds of 4-10 people (offices, time zones, neither, a random history) for
    which a grouping that seats everyone, repeats nobody and can meet exists."""
    rng = np.random.default_rng(seed)
    places = ["Lisbon", "London", None, None]
    found = 0
    while found < count:
        n = int(rng.choice([size for size in (4, 6, 8, 9, 10) if size % k == 0]))
        people = [Person(f"U{i}", level=int(rng.integers(1, 9)),
                         location=places[rng.integers(0, 4)],
                         utc_offset_minutes=[0, 60, 300, None][rng.integers(0, 4)])
                  for i in range(n)]  # fmt: skip
        met = {pair for pair in itertools.combinations(range(n), 2) if rng.random() < 0.3}
        def ok(x: int, y: int, met=met, people=people) -> bool:
            return (min(x, y), max(x, y)) not in met and _can_meet(people[x], people[y], 180)

        if _fresh_split_exists(list(range(n)), k, ok):
            found += 1
            yield people, [PastGroup(DAY, (f"U{a}", f"U{b}")) for a, b in met]


def bench_pools(quick: bool) -> list[dict]:
    """Pools chosen with groups: repeat-free rounds in a row and time per round for a
    workplace of offices and remote people, against the same engine with pools fixed before
    grouping (MERGE_LIMIT = 0), in the same run."""
    from bot.domain.matching import engine

    results = []
    sizes = ((60, 2), (120, 2)) if quick else ((60, 2), (120, 2), (240, 2), (60, 3), (120, 3),
                                                (240, 4))  # fmt: skip
    for n, k in sizes:
        row = {"members": n, "group_size": k}
        for label, limit in (("fixed", 0), ("chosen", engine.MERGE_LIMIT)):
            saved, engine.MERGE_LIMIT = engine.MERGE_LIMIT, limit
            try:
                reached, seconds = [], []
                for seed in range(2 if quick else 4):
                    people = make_workplace(n, seed)
                    start = time.perf_counter()
                    scores = run_rounds(people, Rules(group_size=k), seed=seed)
                    seconds.append((time.perf_counter() - start) / (len(scores) + 1))
                    reached.append(len(scores))
            finally:
                engine.MERGE_LIMIT = saved
            row[f"rounds_{label}"] = reached
            row[f"s_per_round_{label}"] = round(statistics.mean(seconds), 4)
        print(f"pools: {row}", flush=True)
        results.append(row)
    for k in (2, 3):
        row = {"group_size": k, "instances": 100 if quick else 300}
        for label, limit in (("fixed", 0), ("chosen", engine.MERGE_LIMIT)):
            saved, engine.MERGE_LIMIT = engine.MERGE_LIMIT, limit
            try:
                missed = sum(
                    bool(g.score.repeats or g.unmatched)
                    for people, history in _small_instances(k, row["instances"], seed=k)
                    for g in [form_groups(people, history, Rules(group_size=k), seed=1)]
                )
            finally:
                engine.MERGE_LIMIT = saved
            row[f"missed_{label}"] = missed
        print(f"pools (brute force): {row}", flush=True)
        results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller and fewer runs")
    parser.add_argument("--only", help="comma-separated sections to run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    sections = {
        "scale": bench_scale,
        "preview": bench_preview,
        "quality": bench_quality,
        "baseline": bench_baseline,
        "churn": bench_churn,
        "groups": bench_groups,
        "coverage": bench_coverage,
        "imported": bench_imported,
        "scale4": bench_scale4,
        "apart": bench_apart,
        "pools": bench_pools,
    }
    chosen = args.only.split(",") if args.only else list(sections)
    results = {}
    for name in chosen:
        results[name] = sections[name](args.quick)
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                          "numpy": np.__version__}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
