"""``python -m bot preview``: the admin's dry run on CSV files."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.preview import main
from bot.cli.progress import Progress
from bot.common.csvfile import InputError

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def members(tmp_path):
    rows = ["user_id,level,department,location,timezone"]
    for i in range(10):
        rows.append(f"U{i},{i % 8 + 1},{'Sales' if i % 2 else 'Eng'},,Europe/Berlin")
    return write(tmp_path / "members.csv", "\n".join(rows) + "\n")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_gives_one_object_per_round(capsys, members):
    code, out, err = run(capsys, "--members", members, "--rounds", 3, "--seed", 1, "--json")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    seen = set()
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        assert record["round"] == number and record["unmatched"] == []
        ids = sorted(x for g in record["groups"] for x in g)
        assert ids == sorted(f"U{i}" for i in range(10))
        pairs = {frozenset(p) for g in record["groups"] for p in itertools.combinations(g, 2)}
        assert not pairs & seen  # each round sees the earlier ones
        seen |= pairs


def test_the_same_seed_gives_the_same_preview(capsys, members):
    first = run(capsys, "--members", members, "--rounds", 2, "--seed", 9, "--json")
    again = run(capsys, "--members", members, "--rounds", 2, "--seed", 9, "--json")
    assert first == again


def test_tables_show_groups_levels_and_a_summary(capsys, members):
    code, out, _ = run(capsys, "--members", members, "--rounds", 2, "--seed", 3)
    assert code == 0
    assert "Round 1" in out and "Round 2" in out
    assert "L1" in out and "L8" in out  # levels are shown to the admin
    assert "Summary over 2 rounds: 10 groups, mean level spread" in out
    assert "0 repeated pairs" in out
    # the share counted is of groups with every member from a different department
    assert re.search(r"\d+% of groups with no two people from one department", out)


def test_without_levels_the_spread_is_said_to_be_unknown_not_zero(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id,department\nA,Eng\nB,Sales\nC,Eng\nD,HR\n")
    code, out, _ = run(capsys, "--members", people, "--rounds", 2)
    assert code == 0
    assert "2 groups, level spread unknown (no levels in the file)," in out
    assert "Summary over 2 rounds: 4 groups, level spread unknown" in out
    assert "spread 0.00" not in out


def test_one_group_and_one_repeated_pair_are_said_in_the_singular(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id,level\nA,1\nB,9\n")
    code, out, _ = run(capsys, "--members", people, "--rounds", 2)
    assert code == 0
    assert "  1 group, mean level spread 8.00, 0 repeated pairs, 0 unmatched," in out
    assert "  1 group, mean level spread 8.00, 1 repeated pair, 0 unmatched," in out
    assert "Summary over 2 rounds: 2 groups, mean level spread 8.00, 1 repeated pair," in out


def test_history_is_respected_and_unknown_people_in_it_are_ignored(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id,level\nA,1\nB,8\nC,1\nD,8\n")
    past = write(
        tmp_path / "h.csv", "date,user_ids\n2024-01-01,A B\n2024-01-01,C D\n2024-01-08,X Y Z\n"
    )
    for seed in range(5):
        code, out, err = run(
            capsys, "--members", people, "--history", past, "--seed", seed, "--json"
        )
        assert code == 0 and err == ""
        groups = {frozenset(g) for g in json.loads(out)["groups"]}
        assert groups == {frozenset("AD"), frozenset("BC")}


def test_group_size(capsys, members):
    code, out, _ = run(capsys, "--members", members, "--group-size", 3, "--json", "--seed", 2)
    assert code == 0
    assert sorted(len(g) for g in json.loads(out)["groups"]) == [3, 3, 4]


def test_people_who_cannot_meet_are_listed_with_a_reason(capsys, tmp_path):
    people = write(
        tmp_path / "m.csv",
        "user_id,timezone\nU1,America/Los_Angeles\nU2,Europe/Berlin\nU3,Europe/Paris\n",
    )
    code, out, _ = run(capsys, "--members", people, "--json", "--date", "2024-03-04")
    record = json.loads(out)
    assert record["unmatched"] == [
        {"user_id": "U1", "reason": "no one within 3 hours of your time zone this round"}
    ]


def test_time_zone_names_are_converted_on_the_day_of_the_round(capsys, tmp_path):
    # London is UTC+0 in winter and UTC+1 in summer; Lagos is UTC+1 all year.
    people = write(tmp_path / "m.csv", "user_id,timezone\nL,Europe/London\nN,Africa/Lagos\n")
    args = ("--members", people, "--json", "--tz-window", 0)
    summer = json.loads(run(capsys, *args, "--date", "2024-07-01")[1])
    winter = json.loads(run(capsys, *args, "--date", "2024-01-08")[1])
    assert len(summer["groups"]) == 1 and summer["unmatched"] == []
    assert winter["groups"] == [] and len(winter["unmatched"]) == 2


def test_fixed_offsets_are_accepted(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id,timezone\nA,+05:30\nB,UTC+4\nC,-08:00\n")
    code, out, _ = run(capsys, "--members", people, "--json")
    record = json.loads(out)
    assert [sorted(g) for g in record["groups"]] == [["A", "B"]]
    assert [u["user_id"] for u in record["unmatched"]] == ["C"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("members.csv", "", "members.csv: is empty: expected a header row"),
        ("members.csv", "id,level\nU1,2\n", 'members.csv line 1, column "user_id": missing column'),
        ("members.csv", "user_id,level\nU1,2\nU2,3\nU1,4\n",
         'members.csv line 4, column "user_id": "U1" appears twice (first on line 2)'),
        ("members.csv", "user_id,level\nU1,2\n\nU2,abc\n",
         'members.csv line 4, column "level": "abc" is not a whole number from 1 to 9'),
        ("members.csv", "user_id,timezone\nU1,Mars/Olympus\n",
         'members.csv line 2, column "timezone": "Mars/Olympus" is not a known time zone'),
        ("members.csv", "user_id,timezone\nU1,+25:00\n",
         'members.csv line 2, column "timezone": "+25:00" is not a valid UTC offset'),
        ("members.csv", "user_id,level\n,2\n", 'members.csv line 2, column "user_id": is empty'),
    ],
)
def test_bad_members_file_gives_one_line_and_exit_code_2(capsys, tmp_path, name, text, message):
    path = write(tmp_path / name, text)
    code, out, err = run(capsys, "--members", path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,who\n", 'history.csv line 1, column "date": missing column'),
        ("date,user_ids\n2024-01-01,A B\n2024-13-01,A B\n",
         'history.csv line 3, column "date": "2024-13-01" is not a date (use YYYY-MM-DD)'),
    ],
)
def test_bad_history_file_gives_one_line_and_exit_code_2(capsys, members, tmp_path, text,
                                                         message):
    path = write(tmp_path / "history.csv", text)
    code, out, err = run(capsys, "--members", members, "--history", path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {message}")


# Files are read as the HR import (levels import) reads them: the same reader, the same rules.


def test_history_ids_separated_by_commas_are_refused_not_dropped(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id,level\nA,1\nB,9\n")
    past = write(tmp_path / "history.csv", "date,user_ids\n2026-11-30,A,B\n")
    code, out, err = run(capsys, "--members", people, "--history", past)
    assert code == 2 and out == ""
    assert err == (
        "error: history.csv line 2: has 1 more cell(s) than the header has columns: separate "
        "the ids in user_ids with spaces, or put the cell in quotes\n"
    )
    write(past, 'date,user_ids\n2026-11-30,"A,B"\n')  # quoted, it is one cell: not an id
    code, out, _ = run(capsys, "--members", people, "--history", past, "--date", "2026-12-07")
    assert code == 0 and "0 repeated pairs" in out
    write(past, "date,user_ids\n2026-11-30,A B\n")
    code, out, _ = run(capsys, "--members", people, "--history", past, "--date", "2026-12-07")
    assert code == 0 and "1 repeated pair" in out


@pytest.mark.parametrize("level", ["99999999999999999999999999", "-3", "0", "12", "nan", "inf",
                                   "1.5"])  # fmt: skip
def test_levels_outside_1_to_9_are_refused_as_the_hr_import_does(capsys, tmp_path, level):
    path = write(tmp_path / "members.csv", f"user_id,level\nU1,{level}\nU2,1\n")
    code, out, err = run(capsys, "--members", path)
    assert code == 2 and out == ""
    assert err == (
        f'error: members.csv line 2, column "level": "{level}" is not a whole number from 1 to 9\n'
    )


def test_semicolon_separated_files_are_read(capsys, tmp_path):
    people = write(tmp_path / "m.csv", "user_id;level;department\nA;1;Eng\nB;9;Sales\n")
    past = write(tmp_path / "h.csv", "date;user_ids\n2026-11-30;A B\n")
    code, out, err = run(capsys, "--members", people, "--history", past, "--date", "2026-12-07")
    assert code == 0 and err == ""
    assert "A (L1, Eng) + B (L9, Sales)" in out and "1 repeated pair" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('user_id,level\n"U01001,5\nU2,3\nU3,4\n',  # named where the quote opens
         "members.csv line 2: is not valid CSV (unexpected end of data): a quoted cell here "
         "is never closed"),
        ('user_id,level\nU1,"5"x\n',
         "members.csv line 2: is not valid CSV (',' expected after '\"')"),
        ("user_id,level,department\nU1,5,Eng\nU2,3\n",
         "members.csv line 3: has 1 fewer cell(s) than the header has columns (department "
         "missing): add them; a cell may be empty"),
        ("user_id,level\nU1,5,Eng\n",
         "members.csv line 2: has 1 more cell(s) than the header has columns: put a cell that "
         "holds a comma in quotes (ids in avoid are separated by spaces)"),
    ],
)  # fmt: skip
def test_rows_that_do_not_fit_the_header_are_refused(capsys, tmp_path, text, message):
    path = write(tmp_path / "members.csv", text)
    code, out, err = run(capsys, "--members", path)
    assert code == 2 and out == ""
    assert err == f"error: {message}\n"


def test_a_short_history_row_is_refused(capsys, members, tmp_path):
    past = write(tmp_path / "history.csv", "date,user_ids\n2024-01-01,U1 U2\n2024-01-08\n")
    code, out, err = run(capsys, "--members", members, "--history", past)
    assert code == 2 and out == ""
    assert err.startswith("error: history.csv line 3: has 1 fewer cell(s) than the header has "
                          "columns (user_ids missing)")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("user_id,department\nU1,Eng\nU2,Ventes générales\n".encode("latin-1"),
         "members.csv line 3: is not UTF-8 (byte 0xe9, perhaps Latin-1 or Windows-1252): "
         'save it as UTF-8 (in Excel: "CSV UTF-8"; or iconv -t UTF-8)'),
        ("user_id,level\nU1,5\n".encode("utf-16"),
         'members.csv: is UTF-16 encoded, not UTF-8: save it as UTF-8 (in Excel: "CSV UTF-8"; '
         "or iconv -t UTF-8)"),
    ],
)  # fmt: skip
def test_files_not_in_utf8_say_how_to_save_them(capsys, tmp_path, data, message):
    (tmp_path / "members.csv").write_bytes(data)
    code, out, err = run(capsys, "--members", tmp_path / "members.csv")
    assert code == 2 and out == ""
    assert err == f"error: {message}\n"


def test_input_errors_read_as_one_line():
    error = InputError("members.csv", 7, "level", '"abc" is not a whole number')
    assert str(error) == 'members.csv line 7, column "level": "abc" is not a whole number'
    assert str(InputError("members.csv", None, None, "no such file")) == (
        "members.csv: no such file"
    )


def test_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "--members", tmp_path / "nope.csv")
    assert code == 2 and out == ""
    assert err == "error: nope.csv: no such file\n"


def test_progress_shows_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = Progress(screen, delay=0)
    progress("round 3/10…")
    progress.done()
    assert "round 3/10…" in screen.getvalue()
    pipe = io.StringIO()
    quiet = Progress(pipe, delay=0)
    quiet("round 3/10…")
    quiet.done()
    assert pipe.getvalue() == ""


def _python(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_runs_as_a_real_command(members, tmp_path):
    done = _python("-m", "bot", "preview", "--members", str(members), "--json", "--rounds", "2",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no progress line
    assert [json.loads(line)["round"] for line in done.stdout.splitlines()] == [1, 2]


def test_real_command_errors_without_a_traceback(tmp_path):
    bad = write(tmp_path / "members.csv", "user_id,level\nU1,x\n")
    done = _python("-m", "bot", "preview", "--members", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        'error: members.csv line 2, column "level": "x" is not a whole number from 1 to 9\n'
    )
    assert "Traceback" not in done.stderr


def test_help_and_argument_errors(tmp_path):
    done = _python("-m", "bot", "preview", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "--members" in done.stdout and "--tz-window" in done.stdout
    done = _python("-m", "bot.cli.preview", "--members", "x.csv", "--group-size", "9", cwd=tmp_path)
    assert done.returncode == 2 and "between 2 and 8" in done.stderr
