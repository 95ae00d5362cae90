"""The insight figures on hand-made histories whose answers are known."""

from __future__ import annotations

import datetime as dt

from bot.domain.insights.measures import Attendee, GroupRow, Participation, RoundRow, measure

D1, D2 = dt.date(2026, 1, 5), dt.date(2026, 1, 12)
ADA = Attendee("ADA", 2, "Sales", "Berlin")
BOB = Attendee("BOB", 7, "Eng", "Paris")
CY = Attendee("CY", 3, "Sales", "Berlin")
DEE = Attendee("DEE", 4, None, None)
EVE = Attendee("EVE", 9, "Eng", "Berlin")


def history() -> list[GroupRow]:
    return [
        # round 1: two groups met, one did not, one was never delivered
        GroupRow(1, D1, "C1", True, True, (ADA, BOB)),  # 5 levels apart, 2 teams, 2 offices
        GroupRow(1, D1, "C1", True, True, (CY, DEE, EVE)),  # 6 apart; Sales+Eng; one office
        GroupRow(1, D1, "C1", True, False, (ADA, CY)),
        GroupRow(1, D1, "C1", False, False, (BOB, EVE)),
        # round 2: ADA meets BOB again (no new colleague) and CY meets ADA
        GroupRow(2, D2, "C1", True, True, (ADA, BOB)),
        GroupRow(2, D2, "C1", True, True, (CY, ADA)),  # 1 level apart, same team and office
    ]


def test_rounds_count_delivered_groups_people_and_the_meet_rate():
    figures = measure(history(), Participation(10, 2, 1), unmatched={1: 1})
    first, second = figures.rounds
    assert (first.date, first.groups, first.people, first.met, first.unmatched) == (D1, 3, 7, 2, 1)
    assert first.meet_rate == 2 / 3
    assert (second.groups, second.met, second.meet_rate) == (2, 2, 1.0)
    assert figures.meet_rate == 4 / 5
    assert figures.participation == Participation(10, 2, 1)


def test_reach_is_distinct_colleagues_met():
    figures = measure(history())
    assert figures.reach == {"ADA": 2, "BOB": 1, "CY": 3, "DEE": 2, "EVE": 2}
    assert figures.median_reach == 2
    assert figures.reach_distribution() == [(1, 1), (2, 3), (3, 1)]
    assert figures.teams_per_person["ADA"] == {"Eng", "Sales"}
    assert figures.offices_per_person["DEE"] == {"Berlin"}


def test_shares_across_levels_departments_and_offices():
    figures = measure(history())
    assert figures.meetings == 4
    assert (figures.across_levels, figures.across_departments, figures.across_offices) == (3, 3, 2)
    assert figures.share(figures.across_levels) == 0.75


def test_matrices_count_pairs_who_met_and_hide_cells_of_few_people():
    figures = measure(history())
    assert figures.levels.cell("2", "7") == 2 and figures.levels.cell("7", "2") == 2
    assert figures.levels.cell("3", "9") == 1 and figures.levels.cell("2", "3") == 1
    assert figures.levels.cell("2", "4") == 0
    assert figures.levels.shown("2", "7") == "<5"  # two people: never shown as a number
    # nobody met across 2 and 4: shown as a small cell too, or a lone "<5" among zeros
    # would say which two levels met
    assert figures.levels.shown("2", "4") == "<5"
    assert figures.departments.labels == ["Eng", "Sales"]
    assert figures.departments.cell("Sales", "Eng") == 3  # ADA-BOB twice, CY-EVE
    assert figures.departments.cell("Sales", "Sales") == 1  # CY-ADA (DEE has no team)
    crowd = [GroupRow(3, D2, "C1", True, True, (Attendee(f"U{i}", 1), Attendee(f"V{i}", 9)))
             for i in range(3)]  # fmt: skip
    assert measure(crowd).levels.shown("1", "9") == "3"  # six people: shown


def test_nothing_yet_gives_empty_figures_not_errors():
    figures = measure([])
    assert figures.rounds == [] and figures.reach == {} and figures.median_reach == 0
    assert figures.meet_rate is None and figures.share(0) is None


def test_people_grouped_who_never_met_count_as_reaching_nobody():
    """docs/insights.md promises a tall bar at 0 for people who never answer the check-in:
    they were left out, so the chart had no such bar and the median was too high."""
    figures = measure([
        GroupRow(1, D1, "C1", True, True, (ADA, BOB)),
        GroupRow(1, D1, "C1", True, False, (CY, DEE)),  # delivered, never answered
        GroupRow(1, D1, "C1", False, False, (EVE, Attendee("FAY"))),  # never delivered
    ])  # fmt: skip
    assert figures.reach == {"ADA": 1, "BOB": 1, "CY": 0, "DEE": 0}
    assert figures.reach_distribution() == [(0, 2), (1, 2)]
    assert figures.median_reach == 0.5


def test_a_round_that_formed_no_group_still_counts():
    """Nobody could be placed: no group, but a round all the same, as `stats` counts it."""
    runs = [RoundRow(1, D1, "C1"), RoundRow(2, D2, "C1")]
    figures = measure([GroupRow(2, D2, "C1", True, True, (ADA, BOB))], unmatched={1: 1}, runs=runs)
    first, second = figures.rounds
    assert (first.date, first.groups, first.people, first.unmatched) == (D1, 0, 0, 1)
    assert first.meet_rate is None and second.groups == 1


def _pairs(department_a: str, department_b: str, times: int, round_id: int = 1) -> list[GroupRow]:
    tag = f"{department_a}-{department_b}-{round_id}"
    return [GroupRow(round_id, D1, "C1", True, True, (Attendee(f"{tag}-a{i}", 2, department_a),
                                                     Attendee(f"{tag}-b{i}", 7, department_b)))
            for i in range(times)]  # fmt: skip


def test_one_small_cell_on_the_diagonal_cannot_be_worked_out_by_subtraction():
    """With pairs and known departments, rounds.csv (groups met) and the page's share across
    departments give the diagonal's total: less its shown cells, a lone "<5" on it was known."""
    history = (_pairs("Eng", "Eng", 4) + _pairs("Ops", "Ops", 3) + _pairs("Sales", "Sales", 1)
               + _pairs("Eng", "Ops", 5) + _pairs("Ops", "Sales", 5) + _pairs("Eng", "Sales", 5))  # fmt: skip
    figures = measure(history)
    matrix = figures.departments
    diagonal = [matrix.shown(d, d) for d in matrix.labels]
    assert diagonal.count("<5") >= 2  # Sales-Sales (two people) and one more
    total = figures.meetings - figures.across_departments  # what the page and CSV give
    shown = sum(int(cell) for cell in diagonal if cell != "<5")
    assert total - shown != matrix.cell("Sales", "Sales")  # the subtraction no longer works
    assert matrix.shown("Eng", "Eng") == "4"  # the larger one stays
    # the cells off the diagonal add up to the share across departments: same rule
    assert [matrix.shown(a, b) for a, b in (("Eng", "Ops"), ("Ops", "Sales"), ("Eng", "Sales"))] \
        == ["5", "5", "5"]  # none of them small: nothing to hide
