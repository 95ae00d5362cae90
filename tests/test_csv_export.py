"""CSV exports open safely in a spreadsheet: text that would start a formula is neutralised
(OWASP: a leading '), and numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import app_env, run_cli

from bot.common.csvfile import read_table, safe_cell, write_csv
from bot.domain.levels.sources import set_value
from bot.storage.db import session_scope
from bot.storage.models import Program, Workspace

FORMULAS = {
    "U1": "=HYPERLINK(\"https://evil.example\",\"Payroll\")",
    "U2": "+1+cmd|' /C calc'!A0",
    "U3": "-2+3",
    "U4": "@SUM(1+1)*cmd|' /C calc'!A0",
    "U5": "\t=1+1",
    "U6": "\r=1+1",
}


@pytest.fixture
def env(migrated_url):
    return app_env(DATABASE_URL=migrated_url, LOG_LEVEL="WARNING")


def rows(stdout: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_levels_export_neutralises_formulas_and_keeps_levels_numbers(env, migrated_url, tmp_path):
    with session_scope(migrated_url) as session:
        for number, (user, department) in enumerate(FORMULAS.items(), start=1):
            set_value(session, "T1", user, "department", department, "admin")
            set_value(session, "T1", user, "level", number, "import")
        set_value(session, "T1", "U7", "location", "-", "admin")
    result = run_cli("levels", "export", "--csv", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    exported = {row["user_id"]: row for row in rows(result.stdout)}
    for user, department in FORMULAS.items():  # stored with whitespace collapsed
        assert exported[user]["department"] == "'" + " ".join(department.split())
    assert [exported[u]["level"] for u in FORMULAS] == ["1", "2", "3", "4", "5", "6"]
    assert exported["U7"]["location"] == "'-" and exported["U7"]["level"] == ""


def test_stats_export_goes_through_the_same_guard(env, migrated_url, tmp_path):
    with session_scope(migrated_url) as session:
        session.add(Program(team_id="T1", channel_id="=1+1"))
    result = run_cli("stats", "--csv", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = rows(result.stdout)
    assert row["channel_id"] == "'=1+1"
    assert (row["team_id"], row["rounds"], row["groups"]) == ("T1", "0", "0")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-3, "-3"),
        (7, "7"),
        (0.25, "0.25"),
        ("-3", "-3"),
        ("+4.5", "+4.5"),
        ("-1e3", "-1e3"),
        ("0.500", "0.500"),
        (None, ""),
        ("Finance", "Finance"),
        ("R&D - Berlin", "R&D - Berlin"),
        ("=1+1", "'=1+1"),
        ("-1+1", "'-1+1"),
        ("+", "'+"),
        ("@here", "'@here"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=1", "''=1"),  # the reader takes one quote away: this one is the value's own
        ("''-x", "'''-x"),
        ("'x", "'x"),
    ],
)
def test_a_cell_is_neutralised_only_when_it_would_start_a_formula(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("'-Ops", "-Ops"),
        ("'=1+1", "=1+1"),
        ("'@here", "@here"),
        ("'+", "+"),
        ('"\'\tx"', "\tx"),
        ("''=1", "'=1"),  # one quote, the writer's, and no more
        ("'''=1", "''=1"),
        ("'Ops", "'Ops"),  # not before a formula: not the writer's
        ("'", "'"),
        ("O'Brien", "O'Brien"),
    ],
)
def test_the_reader_takes_back_only_the_quote_the_writer_adds(cell, value):
    """An export imported back is what was exported, not the export's quote: the quote is
    there for spreadsheets (which read it so too), not part of the department."""
    _, _, records = read_table("x.csv", f"user_id,department\nU1,{cell}\n".encode())
    assert records[0].cells["department"] == value


def test_every_formula_the_writer_neutralises_reads_back_as_it_was():
    # what a department can be (one line: no tab or CR), and text that starts with the quote
    departments = {
        **{user: FORMULAS[user] for user in ("U1", "U2", "U3", "U4")},
        "U7": "'=1+1", "U8": "''-Ops", "U9": "'Ops",
    }  # fmt: skip
    out = io.StringIO()
    write_csv(out, ("user_id", "department"), departments.items())
    assert "U7,''=1+1\n" in out.getvalue()  # a spreadsheet shows '=1+1, as stored
    _, _, records = read_table("x.csv", out.getvalue().encode())
    assert {r.cells["user_id"]: r.cells["department"] for r in records} == departments


def test_the_title_table_printed_as_csv_goes_through_the_same_guard(env, migrated_url, tmp_path):
    from bot.domain.levels.admin import set_title_rules

    with session_scope(migrated_url) as session:
        session.add(Workspace(team_id="T1", name="Acme"))
        session.flush()
        set_title_rules(session, "T1", [("=cmd|x", 3), ('say "hi", boss', 7), ("intern", 1)])
    result = run_cli("levels", "titles", "--team", "T1", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    comment, table = result.stdout.split("\n", 1)
    assert comment.startswith("# workspace table for workspace T1")
    assert list(csv.reader(io.StringIO(table))) == [
        ["pattern", "level"], ["'=cmd|x", "3"], ['say "hi", boss', "7"], ["intern", "1"],
    ]
