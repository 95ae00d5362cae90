"""The insights as pictures: PNGs drawn with matplotlib's Agg backend (no display needed).

Each function returns PNG bytes. Matrices show "<5" for a cell of fewer than five people,
so no chart can reveal one person's level or department; bars and cells are drawn with
white gaps between them so that each one can be told apart (the tests count them).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # before pyplot: never look for a display
# Labels are people's words, never TeX: a department of `Budget $$ team` was read as maths
# and ended every chart with a traceback.
matplotlib.rcParams["text.parse_math"] = False

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402

from bot.domain.insights.measures import SMALL, Matrix, Measures  # noqa: E402

BAR = "#2e7d32"
LINE = "#ef6c00"
HIDDEN = "#d9d9d9"
CELLS = LinearSegmentedColormap.from_list("reach", ["#e8f5e9", "#1b5e20"])
SIZE = (8, 4.5)
DPI = 100
LABEL_CHARS = 25  # a longer name is cut, with "…"
CHART_LABELS = 15  # a matrix chart shows the 14 departments with the most meetings, and the rest as one


def _png(figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white")
    plt.close(figure)
    return out.getvalue()


def rounds_chart(measures: Measures) -> bytes:
    """People in groups on each round's date (bars) and the share of groups that met (line).
    Rounds of several programs on one day make one bar: two bars under one date read as a
    mistake."""
    people: dict[dt.date, int] = defaultdict(int)
    groups: dict[dt.date, int] = defaultdict(int)
    met: dict[dt.date, int] = defaultdict(int)
    for r in measures.rounds:
        people[r.date] += r.people
        groups[r.date] += r.groups
        met[r.date] += r.met
    dates = sorted(people)
    figure, people_axis = plt.subplots(figsize=SIZE)
    x = list(range(len(dates)))
    people_axis.bar(x, [people[d] for d in dates], color=BAR, width=0.6,
                    label="people in groups")  # fmt: skip
    people_axis.set_ylabel("people in groups")
    people_axis.set_xlim(-0.5, max(len(dates), 1) - 0.5)
    rate_axis = people_axis.twinx()
    rate_axis.plot(x, [100 * met[d] / groups[d] if groups[d] else float("nan") for d in dates],
                   color=LINE, marker="o", label="groups that met (%)")  # fmt: skip
    rate_axis.set_ylim(0, 100)
    rate_axis.set_ylabel("groups that met (%)")
    people_axis.set_title("Participation and meet rate per round")
    labels = [f"{d:%d %b}" for d in dates]
    people_axis.set_xticks(x, labels)
    figure.tight_layout()
    # Every k-th date, k so that the widest label fits k bars: half a year of weekly rounds
    # printed every date over the next.
    renderer = figure.canvas.get_renderer()
    widest = max((t.get_window_extent(renderer).width for t in people_axis.get_xticklabels()),
                 default=0)  # fmt: skip
    room = people_axis.get_window_extent(renderer).width / max(len(dates), 1)
    every = max(1, math.ceil(widest * 1.3 / room))
    people_axis.set_xticks(x[::every], labels[::every])
    return _png(figure)


def reach_chart(measures: Measures) -> bytes:
    """How many people have met how many distinct colleagues."""
    figure, axis = plt.subplots(figsize=SIZE)
    spread = measures.reach_distribution()
    x = list(range(len(spread)))
    axis.bar(x, [n for _, n in spread], color=BAR, width=0.6)
    axis.set_xticks(x, [str(k) for k, _ in spread])
    axis.set_xlabel("distinct colleagues met")
    axis.set_ylabel("people")
    axis.set_title(f"Reach: median {measures.median_reach:g} colleagues met per person")
    figure.tight_layout()
    return _png(figure)


def short(label: str) -> str:
    """A label as a chart prints it: a department may have 200 characters, and one such name
    cut the picture off or shrank the grid to dots (departments.csv keeps every name)."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def matrix_chart(matrix: Matrix, title: str) -> bytes:
    """Meetings by pairs of categories; a cell of fewer than five people reads "<5"."""
    labels = matrix.labels or ["(none yet)"]
    n = len(labels)
    figure, axis = plt.subplots(figsize=(max(5, 0.6 * n + 2), max(4, 0.6 * n + 1.5)))
    values = [[matrix.cell(a, b) for b in labels] for a in labels]
    hidden = [[matrix.shown(a, b) == SMALL for b in labels] for a in labels]
    top = max((v for row, mask in zip(values, hidden, strict=True)
               for v, h in zip(row, mask, strict=True) if not h), default=0) or 1  # fmt: skip
    for i in range(n):
        for j in range(n):
            colour = HIDDEN if hidden[i][j] else CELLS(values[i][j] / top)
            axis.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white",
                                         linewidth=3))  # fmt: skip
            text = SMALL if hidden[i][j] else str(values[i][j])
            axis.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8,
                      color="white" if not hidden[i][j] and values[i][j] > top / 2 else "black")  # fmt: skip
    axis.set_xlim(0, n)
    axis.set_ylim(n, 0)
    shown = [short(label) for label in labels]
    ticks = [k + 0.5 for k in range(n)]
    if max(map(len, shown)) > 2:  # names, not levels: slanted, each ending under its column
        axis.set_xticks(ticks, shown, rotation=45, ha="right", rotation_mode="anchor")
    else:
        axis.set_xticks(ticks, shown)
    axis.set_yticks(ticks, shown)
    axis.set_title(title)
    axis.set_aspect("equal")
    figure.tight_layout()
    return _png(figure)


def all_charts(measures: Measures) -> dict[str, bytes]:
    """File name → PNG, in the order the report shows them."""
    return {
        "rounds.png": rounds_chart(measures),
        "reach.png": reach_chart(measures),
        "levels.png": matrix_chart(measures.levels, "Meetings by level (pairs who met)"),
        "departments.png": matrix_chart(
            measures.departments.folded(CHART_LABELS, "(all others)"),
            "Meetings by department (pairs who met)",
        ),
    }
