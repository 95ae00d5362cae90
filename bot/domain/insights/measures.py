"""The figures behind the insights, from plain rows of history: pure and testable by hand.

A meeting is a group that reported "We met". Reach counts, per person, the distinct
colleagues they have met; the matrices count pairs who met, by level and by department.
Nothing here names a person next to a level: the matrices are counts, and each cell also
knows how many distinct people it holds, so charts can hide cells of fewer than
`SMALL_CELL` people.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

SMALL_CELL = 5  # a cell with fewer people than this is shown as "<5"
SMALL = f"<{SMALL_CELL}"
ACROSS_LEVELS = 3  # a meeting "across levels" spans at least this many (e.g. level 2 and 5)
LEVELS = range(1, 10)


@dataclass(frozen=True)
class Attendee:
    user_id: str
    level: int | None = None
    department: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class GroupRow:
    round_id: int
    date: dt.date
    channel_id: str
    delivered: bool
    met: bool
    members: tuple[Attendee, ...]


@dataclass(frozen=True)
class RoundRow:
    """A round as run, groups or not: one where nobody could be placed still counts."""

    round_id: int
    date: dt.date
    channel_id: str


@dataclass(frozen=True)
class RoundFigures:
    round_id: int
    date: dt.date
    channel_id: str
    groups: int  # delivered
    people: int  # in a delivered group
    met: int  # groups that reported meeting
    unmatched: int = 0

    @property
    def meet_rate(self) -> float | None:
        return self.met / self.groups if self.groups else None


@dataclass(frozen=True)
class Participation:
    taking_part: int = 0
    paused: int = 0
    left: int = 0


@dataclass
class Matrix:
    """Meetings (pairs who met) by a pair of categories; `people` per cell for suppression."""

    labels: list[str]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    people: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # cells of five people or more hidden all the same: folded ones holding a small one, and
    # the second hidden cell of a published sum (see `hide_a_second`)
    hidden: set[tuple[str, str]] = field(default_factory=set)

    def cell(self, a: str, b: str) -> int:
        return self.counts.get(_key(a, b), 0)

    def shown(self, a: str, b: str) -> str:
        """What a chart or table may show: the count, or "<5" for a cell of few people,
        empty ones too: a "<5" among zeros would say which two categories met."""
        key = _key(a, b)
        if len(self.people.get(key, ())) < SMALL_CELL or key in self.hidden:
            return SMALL
        return str(self.counts.get(key, 0))

    def hide_a_second(self, cells: Sequence[tuple[str, str]]) -> None:
        """`cells` add up to a figure the report publishes (the diagonal: meetings less the
        share across departments): with one of them hidden, that total less the shown ones
        would give it away, so the smallest shown one is hidden too."""
        keys = sorted({_key(a, b) for a, b in cells})
        shown = [k for k in keys if self.shown(*k) != SMALL]
        if len(keys) - len(shown) == 1 and shown:
            self.hidden.add(min(shown, key=lambda k: (self.counts.get(k, 0), k)))

    def folded(self, most: int, rest: str) -> Matrix:
        """The same meetings over at most `most` labels: the labels with the most meetings,
        and the others as one, `rest` (a chart of hundreds of departments took half a minute
        and most of a gigabyte, for cells nobody could read)."""
        if len(self.labels) <= most:
            return self
        meetings: Counter[str] = Counter()
        for (a, b), count in self.counts.items():
            meetings[a] += count
            meetings[b] += count if b != a else 0
        ranked = sorted(self.labels, key=lambda label: (-meetings[label], label))
        kept = set(ranked[: most - 1])
        folded = Matrix([label for label in self.labels if label in kept] + [rest])
        def into(label: str) -> str:
            return label if label in kept else rest

        for (a, b), count in self.counts.items():
            key = _key(into(a), into(b))
            folded.counts[key] = folded.counts.get(key, 0) + count
            folded.people.setdefault(key, set()).update(self.people.get((a, b), ()))
        # A folded cell that holds a hidden one is hidden too: its count less the shown ones
        # (the full table keeps every label) would give the hidden one away; a kept cell
        # stays hidden. An empty cell is nobody to give away: counting it made every
        # "(all others)" cell read <5.
        for key in self.counts:
            if self.shown(*key) == SMALL:
                folded.hidden.add(_key(into(key[0]), into(key[1])))
        return folded


@dataclass
class Measures:
    rounds: list[RoundFigures]
    participation: Participation
    reach: dict[str, int]  # person -> distinct colleagues met
    meetings: int
    across_levels: int  # meetings whose levels are ACROSS_LEVELS or more apart
    across_departments: int
    across_offices: int
    levels: Matrix
    departments: Matrix
    offices_per_person: dict[str, set[str]] = field(default_factory=dict)
    teams_per_person: dict[str, set[str]] = field(default_factory=dict)

    @property
    def median_reach(self) -> float:
        return statistics.median(self.reach.values()) if self.reach else 0.0

    def reach_distribution(self) -> list[tuple[int, int]]:
        """(colleagues met, people who met that many), in order."""
        counted = Counter(self.reach.values())
        return sorted(counted.items())

    def share(self, part: int) -> float | None:
        return part / self.meetings if self.meetings else None

    @property
    def meet_rate(self) -> float | None:
        groups = sum(r.groups for r in self.rounds)
        return sum(r.met for r in self.rounds) / groups if groups else None


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def measure(
    groups: Sequence[GroupRow],
    participation: Participation = Participation(),  # noqa: B008 - frozen
    unmatched: dict[int, int] | None = None,
    runs: Sequence[RoundRow] = (),
) -> Measures:
    """Every figure of the insights from the groups of some rounds; `runs` are the rounds
    themselves, so one that formed no group still counts (as `stats` counts it)."""
    by_round: dict[int, list[GroupRow]] = defaultdict(list)
    when = {r.round_id: (r.date, r.channel_id) for r in runs}
    for group in groups:
        by_round[group.round_id].append(group)
        when.setdefault(group.round_id, (group.date, group.channel_id))
    rounds = []
    for round_id, (date, channel_id) in when.items():
        delivered = [g for g in by_round[round_id] if g.delivered]
        rounds.append(RoundFigures(
            round_id=round_id, date=date, channel_id=channel_id,
            groups=len(delivered), people=sum(len(g.members) for g in delivered),
            met=sum(g.met for g in delivered), unmatched=(unmatched or {}).get(round_id, 0),
        ))  # fmt: skip
    rounds.sort(key=lambda r: (r.date, r.round_id))

    met = [g for g in groups if g.delivered and g.met]
    colleagues: dict[str, set[str]] = defaultdict(set)
    for group in groups:  # grouped but never met: reach 0, the tall bar the docs promise
        if group.delivered:
            for person in group.members:
                colleagues.setdefault(person.user_id, set())
    teams: dict[str, set[str]] = defaultdict(set)
    offices: dict[str, set[str]] = defaultdict(set)
    levels = Matrix([str(n) for n in LEVELS])
    department_names = sorted({m.department for g in met for m in g.members if m.department})
    departments = Matrix(department_names)
    across = Counter()
    for group in met:
        people = group.members
        for person in people:
            others = [o for o in people if o.user_id != person.user_id]
            colleagues[person.user_id].update(o.user_id for o in others)
            teams[person.user_id].update(o.department for o in others if o.department)
            offices[person.user_id].update(o.location for o in others if o.location)
        known = [p.level for p in people if p.level is not None]
        across["levels"] += bool(known) and max(known) - min(known) >= ACROSS_LEVELS
        across["departments"] += len({p.department for p in people if p.department}) >= 2
        across["offices"] += len({p.location for p in people if p.location}) >= 2
        for a, b in itertools.combinations(people, 2):
            for matrix, x, y in ((levels, a.level, b.level),
                                 (departments, a.department, b.department)):  # fmt: skip
                if x is None or y is None:
                    continue
                key = _key(str(x), str(y))
                matrix.counts[key] = matrix.counts.get(key, 0) + 1
                matrix.people.setdefault(key, set()).update((a.user_id, b.user_id))
    # The report publishes the share of meetings across departments and across levels: for
    # pairs, a total of the cells on either side of that line.
    departments.hide_a_second([(d, d) for d in department_names])
    departments.hide_a_second([(a, b) for a, b in itertools.combinations(department_names, 2)])
    pairs = list(itertools.combinations_with_replacement(levels.labels, 2))
    far = [(a, b) for a, b in pairs if abs(int(a) - int(b)) >= ACROSS_LEVELS]
    levels.hide_a_second(far)
    levels.hide_a_second([p for p in pairs if p not in far])
    return Measures(
        rounds=rounds,
        participation=participation,
        reach={person: len(met_with) for person, met_with in colleagues.items()},
        meetings=len(met),
        across_levels=across["levels"],
        across_departments=across["departments"],
        across_offices=across["offices"],
        levels=levels,
        departments=departments,
        offices_per_person=dict(offices),
        teams_per_person=dict(teams),
    )
