"""Whatever file an admin hands the CLI, the answer is a result or one line naming the file,
the line and the field with exit code 2: never a traceback, never unbounded memory, and
nothing half-imported. Every case runs the real command as a process."""

from __future__ import annotations

import pytest
import sqlalchemy
from conftest import RATE_SCALE, app_env, run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack import SlackDouble
from bot.storage.db import session_scope
from bot.storage.models import Member


@pytest.fixture
def slack():
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", name="Acme", bot_token="xoxb-T1")
        for user in ("U1", "U2", "U3"):
            double.add_user("T1", user, email=f"{user.lower()}@acme.test")
        yield double


@pytest.fixture
def env(slack, migrated_url):
    return app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_API_URL=slack.api_url, DATABASE_URL=migrated_url,
        LOG_LEVEL="WARNING",
    )  # fmt: skip


MEMBERS = "user_id,level,department\nU1,2,Eng\nU2,7,Sales\nU3,4,Ops\nU4,9,Eng\n"


def one_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def stored(url) -> dict:
    with session_scope(url) as session:
        return {m.user_id: (m.level, m.department) for m in session.scalars(sqlalchemy.select(Member))}


# -- each guard ---------------------------------------------------------------------------------


def test_an_endless_file_is_refused_with_bounded_memory(env, tmp_path):
    line = one_line(run_cli("levels", "import", "/dev/zero", env=env, cwd=tmp_path))
    assert line == "error: /dev/zero: is larger than 64 MB: split it up"
    line = one_line(run_cli("preview", "--members", "/dev/zero", env=env, cwd=tmp_path))
    assert line.startswith("error: zero: is UTF-16 encoded")  # NULs, as the import reads them


def test_an_overlong_line_is_refused(env, tmp_path):
    (tmp_path / "hr.csv").write_text("user_id,department\nU1," + "x" * 70_000 + "\n")
    line = one_line(run_cli("levels", "import", "hr.csv", env=env, cwd=tmp_path))
    assert line.startswith("error: hr.csv line 2: is longer than 65,536 characters")


def test_a_nul_deep_in_an_hr_file_names_line_and_field_and_imports_nothing(
    env, migrated_url, tmp_path
):
    note = "# exported from the HR system; " + "levels are confidential " * 10
    rows = ["U1,3,Engineering", "U2,5,Fin\x00ance", "U3,7,Operations"]
    (tmp_path / "hr.csv").write_text(f"{note}\nuser_id,level,department\n" + "\n".join(rows))
    assert (tmp_path / "hr.csv").read_bytes().index(b"\x00") > 200
    line = one_line(run_cli("levels", "import", "hr.csv", env=env, cwd=tmp_path))
    assert line == (
        'error: hr.csv line 4, column "department": has a control character (U+0000) '
        "at character 9: remove it and save the file again"
    )
    assert stored(migrated_url) == {}


def test_an_excel_file_with_empty_columns_after_the_data_imports(env, migrated_url, tmp_path):
    """Excel saves ",," on every line once a cell right of the data was touched: nothing there
    to import or to lose, so it is no reason to refuse the file."""
    (tmp_path / "hr.csv").write_bytes(b"email,level,,\r\nu1@acme.test,7,,\r\nu2@acme.test,3,,\r\n")
    result = run_cli("levels", "import", "hr.csv", env=env, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "  matched         2" in result.stdout and "ignored" not in result.stdout
    assert stored(migrated_url) == {"U1": (7, None), "U2": (3, None)}
    (tmp_path / "hr.csv").write_text("email,level,,\nu1@acme.test,2,,\nu2@acme.test,5,,oops\n")
    line = one_line(run_cli("levels", "import", "hr.csv", env=env, cwd=tmp_path))
    assert line == (
        "error: hr.csv line 3: has a value in column 4, which has no name in the header: "
        "name the column, or empty it"
    )
    assert stored(migrated_url) == {"U1": (7, None), "U2": (3, None)}  # nothing half-imported


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("date,user_ids\n2024-01-01,U1 U2\n9999-12-31,U1 U3\n",
         'history.csv line 3, column "date": "9999-12-31" is not between 2000 and 2100'),
        ("date,user_ids\n1999-12-31,U1 U3\n",
         'history.csv line 2, column "date": "1999-12-31" is not between 2000 and 2100'),
        ("date,user_ids\n2024-01-01," + " ".join(["U1"] * 20_000) + "\n",
         'history.csv line 2, column "user_ids": names 20,000 people: a past group has at '
         "most 50"),
        ("date,user_ids\n2024-01-01,U1\x07 U2\n",
         'history.csv line 2, column "user_ids": has a control character (U+0007) at '
         "character 14: remove it and save the file again"),
    ],
)  # fmt: skip
def test_bad_history_rows_are_one_line(env, tmp_path, history, message):
    (tmp_path / "members.csv").write_text(MEMBERS)
    (tmp_path / "history.csv").write_text(history)
    result = run_cli("preview", "--members", "members.csv", "--history", "history.csv",
                     env=env, cwd=tmp_path)  # fmt: skip
    assert one_line(result) == f"error: {message}"


def test_a_group_of_fifty_is_still_history(env, tmp_path):
    (tmp_path / "members.csv").write_text(MEMBERS)
    group = " ".join(["U1", "U2", *(f"X{i}" for i in range(48))])
    (tmp_path / "history.csv").write_text(f"date,user_ids\n2024-01-01,{group}\n")
    result = run_cli("preview", "--members", "members.csv", "--history", "history.csv",
                     "--date", "2100-12-31", "--json", env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "U1" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rounds", "521"), "argument --rounds: must be at most 520 (ten years of weeks)"),
        (("--date", "9999-12-31"), "argument --date: '9999-12-31' is not between 2000 and 2100"),
        (("--date", "1970-01-01"), "argument --date: '1970-01-01' is not between 2000 and 2100"),
    ],
)
def test_rounds_and_dates_are_capped(env, tmp_path, args, message):
    (tmp_path / "members.csv").write_text(MEMBERS)
    result = run_cli("preview", "--members", "members.csv", *args, env=env, cwd=tmp_path)
    line = one_line(result)  # no usage block: one line that points at --help
    assert message in line and line.endswith("(see python -m bot preview --help)")


# -- arbitrary files ------------------------------------------------------------------------------

fuzz = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
cells = st.one_of(
    st.text(max_size=10),
    st.sampled_from([
        "U1", "U2 U3", "U1 U2 U3", "7", "-1", "99999999999999999999", "1e309", "", '"', '""',
        "\x00", "\r", "\n", "\ufeff", "9999-12-31", "2024-02-30", "0001-01-01", "2024-01-01",
        "Europe/Berlin", "+14:00", "-99:99", "=1+1", "u1@acme.test", "@", "ü" * 3, "٣",
    ]),
)  # fmt: skip
headers = st.sampled_from([
    "user_id,level,department,location,timezone", "date,user_ids", "email,level,location",
    "user_id,department", "user_id;level", "", "#comment\nuser_id,level",
])  # fmt: skip
csv_text = st.tuples(
    headers, st.lists(st.lists(cells, max_size=5).map(",".join), max_size=6)
).map(lambda parts: "\n".join([parts[0], *parts[1]]))
files = st.one_of(
    csv_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    csv_text.map(lambda text: text.encode("utf-16")),
    st.binary(max_size=300),
    st.tuples(csv_text, st.binary(max_size=20)).map(lambda p: p[0].encode("utf-8", "replace") + p[1]),
)


def one_answer(result, ok_codes: tuple[int, ...]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.returncode in (*ok_codes, 2), (result.returncode, result.stderr)
    if result.returncode == 2:
        assert result.stderr.count("\n") == 1, result.stderr


@fuzz
@given(members=files, history=files)
@example(members=b'user_id,level\n0,",\r0', history=b"")  # a line break inside a quoted cell
def test_preview_answers_any_files_with_a_result_or_one_line(env, tmp_path, members, history):
    (tmp_path / "m.csv").write_bytes(members)
    (tmp_path / "h.csv").write_bytes(history)
    result = run_cli("preview", "--members", "m.csv", "--history", "h.csv", "--json",
                     env=env, cwd=tmp_path)  # fmt: skip
    one_answer(result, (0,))


@fuzz
@given(data=files)
def test_levels_import_answers_any_file_with_a_summary_or_one_line(env, tmp_path, data):
    (tmp_path / "hr.csv").write_bytes(data)
    result = run_cli("levels", "import", "hr.csv", env=env, cwd=tmp_path)
    one_answer(result, (0, 1))
