"""The charts are looked at, not only generated: each PNG has the expected size, is not
blank, and has as many bars or cells as the figures say; small cells read "<5"."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from matplotlib import image

from bot.cli.report import tables
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


def six_weeks(channel: str = "C1", first_round: int = 0) -> list[GroupRow]:
    """Six weekly rounds of 20 pairs; 2 of every 3 groups met."""
    return [
        GroupRow(first_round + r, dt.date(2026, 1, 5) + dt.timedelta(weeks=r), channel, True,
                 i % 3 != 0, (Attendee(f"U{i}", i % 9 + 1, "ABC"[i % 3]),
                              Attendee(f"V{i}", (i * 4) % 9 + 1, "ABCD"[i % 4])))
        for r in range(6) for i in range(20)
    ]  # fmt: skip


@pytest.fixture
def figures():
    return measure(six_weeks())


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


def test_all_others_shows_its_count_when_it_hides_nobody():
    """Past 15 departments the rest fold into "(all others)"; its empty cells counted as
    small ones, so that row always read <5. A folded cell holding a small group still does."""
    day = dt.date(2026, 6, 1)

    def pairs(a: str, b: str, times: int) -> list[GroupRow]:
        return [GroupRow(1, day, "C1", True, True, (Attendee(f"{a}-{b}-{i}", 2, a),
                                                   Attendee(f"{b}-{a}-{i}", 8, b)))
                for i in range(times)]  # fmt: skip

    groups = [row for d in range(18) for row in pairs(f"Dept {d:02}", "Hub", 4 if d < 13 else 3)]
    groups += pairs("Dept 18", "Dept 19", 3)  # neither ever meets Hub: empty cells
    figures = measure(groups)
    assert figures.departments.shown("Dept 18", "Hub") == "<5"  # empty, in the full table
    folded = figures.departments.folded(charts.CHART_LABELS, "(all others)")
    assert folded.labels[-1] == "(all others)" and "Dept 13" not in folded.labels
    assert folded.shown("(all others)", "Hub") == "15"  # Dept 13-17, three pairs each
    assert folded.shown("(all others)", "(all others)") == "3"  # Dept 18-19
    small = groups + pairs("Dept 13", "Dept 19", 1)  # two people: hidden in the full table
    refolded = measure(small).departments.folded(charts.CHART_LABELS, "(all others)")
    assert refolded.shown("(all others)", "(all others)") == "<5"  # so it stays hidden here
    assert refolded.shown("(all others)", "Hub") == "15"


def _drawn(monkeypatch) -> dict:
    """The figure a chart function draws, drawn, before it becomes PNG bytes."""
    seen = {}
    keep = charts._png

    def spy(figure):
        figure.canvas.draw()
        seen["figure"], seen["renderer"] = figure, figure.canvas.get_renderer()
        return keep(figure)

    monkeypatch.setattr(charts, "_png", spy)
    return seen


def _overlapping(labels, renderer) -> list[tuple[str, str]]:
    """Neighbouring labels whose ink boxes overlap. Slanted labels turned about their anchor
    (rotation_mode="anchor") are compared along their slant, where they are parallel."""
    boxes = []
    for label in labels:
        if not label.get_text():
            continue
        angle = np.radians(label.get_rotation())
        if angle and label.get_rotation_mode() == "anchor":
            label.set_rotation(0)
            box = label.get_window_extent(renderer)
            label.set_rotation(np.degrees(angle))
            anchor = np.array([box.x1 if label.get_ha() == "right" else box.x0, box.y1])
            turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
            shift = turn @ anchor - anchor  # the box in the slant's frame
            box = box.translated(*shift)
        else:
            box = label.get_window_extent(renderer)
        boxes.append((label.get_text(), box))
    return [(a, b) for (a, x), (b, y) in zip(boxes, boxes[1:], strict=False) if x.overlaps(y)]


@pytest.mark.parametrize("weeks", [8, 26, 60, 200])
def test_round_dates_never_run_into_each_other(monkeypatch, weeks):
    """Every round was labelled at a fixed width: from about 26 rounds the dates overlapped."""
    seen = _drawn(monkeypatch)
    rows = [GroupRow(r, dt.date(2026, 1, 5) + dt.timedelta(weeks=r), "C1", True, True,
                     (Attendee(f"A{r}"), Attendee(f"B{r}"))) for r in range(weeks)]  # fmt: skip
    charts.rounds_chart(measure(rows))
    axis = seen["figure"].axes[0]
    labels = [t for t in axis.get_xticklabels() if t.get_text()]
    assert labels[0].get_text() == "05 Jan" and len(labels) >= min(weeks, 8)
    assert _overlapping(labels, seen["renderer"]) == []


def test_rounds_of_two_programs_on_one_day_make_one_bar():
    """Two channels paired on the same Mondays drew two bars under each date."""
    both = measure(six_weeks() + six_weeks("C2", first_round=100))
    assert len(both.rounds) == 12
    picture = pixels(charts.rounds_chart(both))
    base = max(y for y in range(picture.shape[0]) if is_bar(picture[y]).any())
    assert runs(picture[base - 5], is_bar) == 6


DEPARTMENTS = ["Engineering", "Finance", "Legal", "Marketing", "Operations", "People",
               "Platform Infrastructure and Reliability", "Sales", "Support"]  # fmt: skip
LONGEST = ("Global Platform Infrastructure, Site Reliability and Developer Productivity "
           "Engineering (EMEA and APAC)")  # fmt: skip


def _departments(names: list[str]):
    """Three rounds in which every two departments meet once."""
    rows = []
    for r in range(3):
        for i, a in enumerate(names):
            for j, b in enumerate(names[i + 1 :], start=i + 1):
                pair = (Attendee(f"{r}-{i}-{j}-a", 3, a), Attendee(f"{r}-{i}-{j}-b", 7, b))
                rows.append(GroupRow(r, dt.date(2026, 1, 5) + dt.timedelta(weeks=r), "C1", True,
                                     True, pair))  # fmt: skip
    return measure(rows)


@pytest.mark.filterwarnings("error:Tight layout not applied")
@pytest.mark.parametrize("names", [
    DEPARTMENTS,
    ["Engineering", "Finance", "Legal", "Sales", "Ops", "HR", "Design", "Support", LONGEST],
    [f"{LONGEST} {k}" for k in range(9)],  # Member.department holds up to 200 characters
    [f"Department of {k}" for k in range(15)],
])  # fmt: skip
def test_department_names_are_readable_whole_on_the_picture(monkeypatch, names):
    """Names of ordinary length overlapped, slanted about their middles; a long one was cut
    off at the picture's edge or shrank the grid to a few pixels a cell."""
    seen = _drawn(monkeypatch)
    charts.matrix_chart(_departments(names).departments, "Meetings by department")
    figure, renderer = seen["figure"], seen["renderer"]
    axis = figure.axes[0]
    assert axis.get_window_extent(renderer).width / len(names) >= 30  # room for "<5" or a count
    for label in [*axis.get_xticklabels(), *axis.get_yticklabels(), axis.title]:
        box = label.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0, label.get_text()  # inside the picture
        assert box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height, label.get_text()
    assert figure.bbox.width <= 1200  # nor does it grow the picture past a screen
    assert _overlapping(axis.get_xticklabels(), renderer) == []
    assert _overlapping(axis.get_yticklabels(), renderer) == []


def test_a_long_department_name_is_shortened_on_the_chart_only():
    figures = _departments(DEPARTMENTS[:-1] + [LONGEST])
    assert charts.short(LONGEST) == "Global Platform Infrastr…" and len(charts.short(LONGEST)) == 25
    assert charts.short("Platform Infrastructure and Reliability").endswith("…")
    assert charts.short("Marketing") == "Marketing"
    header, rows = tables(figures)["departments.csv"]
    assert LONGEST in header and LONGEST in [row[0] for row in rows]  # the table keeps it whole
