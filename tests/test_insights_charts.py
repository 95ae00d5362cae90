"""The charts are looked at, not only generated: each PNG has the expected size, is not
blank, and has as many bars or cells as the figures say; small cells read "<5"."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from matplotlib import image

from bot.domain.insights import charts
from bot.domain.insights.measures import Attendee, GroupRow, measure

BAR = np.array([0x2E, 0x7D, 0x32]) / 255


def pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return image.imread(io.BytesIO(png), format="png")[:, :, :3]


def runs(line: np.ndarray, wanted, at_least: int = 8) -> int:
    """How many stretches of at least `at_least` pixels along a line match `wanted`."""
    hits = wanted(line)
    count, length = 0, 0
    for hit in [*hits, False]:
        if hit:
            length += 1
            continue
        count += length >= at_least
        length = 0
    return count


def is_bar(line: np.ndarray) -> np.ndarray:
    return np.abs(line - BAR).max(axis=1) < 0.02


def is_cell(line: np.ndarray) -> np.ndarray:
    return line.min(axis=1) < 0.97  # anything but white, the gap between cells


@pytest.fixture
def figures():
    """Six weekly rounds of 20 pairs; 2 of every 3 groups met."""
    rows = [
        GroupRow(r, dt.date(2026, 1, 5) + dt.timedelta(weeks=r), "C1", True, i % 3 != 0,
                 (Attendee(f"U{i}", i % 9 + 1, "ABC"[i % 3]),
                  Attendee(f"V{i}", (i * 4) % 9 + 1, "ABCD"[i % 4])))
        for r in range(6) for i in range(20)
    ]  # fmt: skip
    return measure(rows)


def test_the_rounds_chart_has_one_bar_per_round(figures):
    picture = pixels(charts.rounds_chart(figures))
    assert picture.shape[:2] == (450, 800) and picture.std() > 0.1
    base = max(y for y in range(picture.shape[0]) if is_bar(picture[y]).any())
    assert runs(picture[base - 5], is_bar) == len(figures.rounds) == 6


def test_the_reach_chart_has_one_bar_per_number_of_colleagues(figures):
    picture = pixels(charts.reach_chart(figures))
    base = max(y for y in range(picture.shape[0]) if is_bar(picture[y]).any())
    assert runs(picture[base - 2], is_bar) == len(figures.reach_distribution())


@pytest.mark.parametrize("which", ["levels", "departments"])
def test_each_matrix_has_a_cell_per_pair_of_categories(figures, which):
    matrix = getattr(figures, which)
    picture = pixels(charts.matrix_chart(matrix, which))
    assert picture.std() > 0.1
    rows = [y for y in range(picture.shape[0]) if runs(picture[y], is_cell, 25) == len(matrix.labels)]
    assert rows, f"no line crosses {len(matrix.labels)} cells"
    columns = [x for x in range(picture.shape[1])
               if runs(picture[:, x], is_cell, 25) == len(matrix.labels)]  # fmt: skip
    assert columns


def test_small_cells_are_drawn_as_less_than_five_and_greyed(figures, monkeypatch):
    drawn = []
    real = charts.plt.Axes.text

    def spy(self, x, y, text, *args, **kwargs):
        drawn.append(text)
        return real(self, x, y, text, *args, **kwargs)

    monkeypatch.setattr(charts.plt.Axes, "text", spy)
    charts.matrix_chart(figures.levels, "levels")
    shown = [figures.levels.shown(a, b) for a in figures.levels.labels for b in figures.levels.labels]
    assert drawn == shown and "<5" in drawn  # what is drawn is what `shown` allows


def test_hundreds_of_departments_are_drawn_as_the_busiest_and_the_rest_as_one(monkeypatch):
    """A chart of every department took 32 s and 840 MB at 150 departments, in the web
    process, for cells nobody could read."""
    day = dt.date(2026, 6, 1)
    groups = [GroupRow(1, day, "C1", True, True,
                       (Attendee(f"A{i}", 1, f"Dept {i:03}"), Attendee(f"B{i}", 9, f"Dept {i + 1:03}")))
              for i in range(300)]  # fmt: skip
    groups += [GroupRow(1, day, "C1", True, True, (Attendee(f"X{i}", 2, "Busy"),
                                                   Attendee(f"Y{i}", 8, "Dept 000")))
               for i in range(6)]  # fmt: skip
    figures = measure(groups)
    assert len(figures.departments.labels) == 302
    drawn = {}
    real = charts.matrix_chart
    monkeypatch.setattr(charts, "matrix_chart",
                        lambda matrix, title: drawn.setdefault(title, matrix) and real(matrix, title))  # fmt: skip
    png = charts.all_charts(figures)["departments.png"]
    (departments,) = [m for title, m in drawn.items() if "department" in title]
    assert len(departments.labels) == charts.CHART_LABELS
    folded = figures.departments.folded(charts.CHART_LABELS, "(all others)")
    assert folded.labels[-1] == "(all others)" and "Busy" in folded.labels
    assert folded.shown("Busy", "Dept 000") == "6"  # twelve people: the busiest cell is kept
    # a folded cell holding a hidden one is hidden: its count less the full table's shown
    # cells would give that one away
    others = ("(all others)", "(all others)")
    assert folded.cell(*others) > 250 and len(folded.people[others]) > 500
    assert folded.shown(*others) == "<5"  # every cell inside it is a hidden one
    assert sum(folded.counts.values()) == sum(figures.departments.counts.values())
    assert pixels(png).shape[1] <= 1200


def test_no_history_draws_empty_charts_not_errors():
    empty = measure([])
    for png in charts.all_charts(empty).values():
        assert pixels(png).shape[2] == 3


@pytest.mark.parametrize("department", ["Budget $$ team", r"R&D $\alpha^$ x", "$5 lunches"])
def test_a_department_with_dollar_signs_is_drawn_as_written(department):
    """matplotlib read `$…$` in a label as TeX: `Budget $$ team` (anyone may set their own
    department) ended the report and the Slack charts with a traceback."""
    rows = [GroupRow(r, dt.date(2026, 1, 5) + dt.timedelta(weeks=r), "C1", True, True,
                     (Attendee(f"U{i}", 2, department), Attendee(f"V{i}", 7, "Ops")))
            for r in range(3) for i in range(6)]  # fmt: skip
    for png in charts.all_charts(measure(rows)).values():
        assert pixels(png).shape[2] == 3
