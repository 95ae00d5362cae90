"""`python -m bot levels …`: summaries, exit codes, one-line errors, every command's --help."""

import argparse
import errno
import io

import pytest
from conftest import IDLE_CUT, RATE_SCALE, app_env, idle_cut, interrupt_cli, run_cli
from sqlalchemy import select

from bot.cli import levels as levels_cli
from bot.domain.levels.sources import set_value
from bot.sandbox.slack import SlackDouble
from bot.storage.db import session_scope
from bot.storage.models import Member, Workspace


@pytest.fixture
def slack():
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", name="Acme", bot_token="xoxb-T1")
        double.set_profile_fields("T1", [{"id": "Xf1", "label": "Grade"}])
        double.add_user("T1", "U1", email="ada@acme.test", title="VP Engineering")
        double.add_user("T1", "U2", email="bob@acme.test", profile_fields={"Xf1": "4"})
        yield double


@pytest.fixture
def env(slack, migrated_url, tmp_path, monkeypatch):
    """The CLI's environment: this test's database and Slack, never a developer's .env."""
    monkeypatch.chdir(tmp_path)
    values = {
        "SLACK_BOT_TOKEN": "xoxb-T1",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": migrated_url,
        "LOG_LEVEL": "WARNING",
    }
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def levels(capsys, *argv):
    """Run `levels …` in this process; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="python -m bot")
    levels_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["levels", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, text, name="hr.csv"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def test_import_prints_the_summary_and_uses_the_bot_tokens_team(env, capsys, tmp_path, slack):
    name = write(
        tmp_path, "email,level,department\nada@acme.test,8,Engineering\nbob@acme.test,3,\n"
    )
    code, out, err = levels(capsys, "import", name)
    assert (code, err) == (0, "")
    assert out.splitlines()[:5] == [
        "hr.csv: 2 rows",
        "  matched         2",
        "  updated         2",
        "  unchanged       0",
        "  unknown         0",
    ]
    assert slack.calls("auth.test")
    code, out, _ = levels(capsys, "import", name)
    assert code == 0 and "unchanged       2" in out


def test_import_with_bad_rows_lists_them_and_exits_1(env, capsys, tmp_path):
    name = write(tmp_path, "email,level\nada@acme.test,abc\nbob@acme.test,4\n")
    code, out, _ = levels(capsys, "import", name, "--team", "T1")
    assert code == 1
    assert '    hr.csv line 2, column "level": "abc" is not a whole number from 1 to 9' in out
    code, out, err = levels(capsys, "import", name, "--strict")
    assert code == 2 and "bad rows        1" in out and "nothing was changed" not in out
    assert err == "error: hr.csv: --strict: nothing was changed because of the rows above\n"
    code, out, _ = levels(capsys, "import", name, "--dry-run")
    assert code == 1 and (
        'dry run: nothing was changed ("updated" counts what an import would change)' in out
    )
    with session_scope(env["DATABASE_URL"]) as session:
        assert session.scalar(select(Member.level).where(Member.user_id == "U2")) == 4


def test_a_bad_file_is_one_line_on_stderr_with_exit_code_2(env, capsys, tmp_path):
    (tmp_path / "latin.csv").write_bytes(
        "email,department\nada@acme.test,Comptabilité\n".encode("latin-1")
    )
    code, out, err = levels(capsys, "import", "latin.csv")
    assert code == 2 and out == ""
    assert err.startswith("error: latin.csv line 2: is not UTF-8") and err.count("\n") == 1
    code, _, err = levels(capsys, "import", "missing.csv")
    assert (code, err) == (2, "error: missing.csv: no such file\n")


NOTHING_APPLIED = (
    "error: hr.csv: no row could be applied (see the rows above): nothing was changed\n"
)


@pytest.mark.parametrize(
    ("rows", "listed"),
    [
        ("ada@acme.test,L5\nbob@acme.test,5.0\n", "  unknown         0\n"),  # HR's own spelling
        ("left@acme.test,5\n", '    hr.csv line 2, column "email": no Slack user with email'),
    ],
)
def test_an_import_that_applies_no_row_exits_2_and_says_nothing_changed(
    env, capsys, tmp_path, rows, listed
):
    """--help promises 2 for "nothing applied"; it was 1, with "every other row was applied"
    when there was no other row."""
    code, out, err = levels(capsys, "import", write(tmp_path, "email,level\n" + rows))
    assert (code, err) == (2, NOTHING_APPLIED)
    assert "  matched         0\n" in out and listed in out
    assert "applied" not in out.splitlines()[-1]  # the rows are the last lines, no verdict
    assert _level_and_department(env, "U1") is None and _level_and_department(env, "U2") is None
    code, out, err = levels(capsys, "import", write(tmp_path, "email,level\n" + rows), "--dry-run")
    assert (code, err) == (1, "")  # a dry run changes nothing anyway: its problems are 1
    assert out.endswith('dry run: nothing was changed ("updated" counts what an import would change)\n')


class Terminal(io.StringIO):
    """stderr as a person watching it: progress is shown."""

    def isatty(self):
        return True


def test_reading_the_workspaces_members_shows_progress_on_a_terminal(
    env, capsys, tmp_path, slack, monkeypatch
):
    """users.list gives 20 pages a minute: 8,000 people are minutes of a silent terminal."""
    for i in range(16):
        slack.add_user("T1", f"UP{i:03d}", email=f"p{i}@acme.test")
    slack.max_page_size = 5
    pages_read = []

    class Watched(Terminal):
        def write(self, text):
            pages_read.append(len(slack.calls("users.list")))
            return super().write(text)

    terminal = Watched()
    monkeypatch.setattr("sys.stderr", terminal)
    code, out, _ = levels(capsys, "import", write(tmp_path, "email,level\nada@acme.test,5\n"))
    assert code == 0 and "  matched         1" in out
    pages = len(slack.calls("users.list"))
    assert pages >= 4 and any(0 < n < pages for n in pages_read)  # while the walk goes on
    counts = terminal.getvalue().split("\n")[0].split("\r")[1:]
    assert counts[0] == "reading the workspace's members: 5"
    assert counts[-1].startswith("reading the workspace's members: ") and len(counts) == pages
    assert terminal.getvalue().endswith("\n\rimporting 1/1\n")  # a line of its own
    terminal.truncate(0)
    terminal.seek(0)
    code, out, _ = levels(capsys, "sync", "--all")
    assert code == 0 and out.startswith("read ")
    assert terminal.getvalue().startswith("\rreading the workspace's members: 5\r")
    assert f"\n\rprofiles 1/{out.split()[1]}" in terminal.getvalue()


def test_an_error_while_the_members_are_read_is_said_on_a_line_of_its_own(
    env, capsys, tmp_path, slack, monkeypatch
):
    for i in range(6):
        slack.add_user("T1", f"UP{i:03d}", email=f"p{i}@acme.test")
    slack.max_page_size = 2

    class Watched(Terminal):
        def write(self, text):
            if text.endswith("members: 2"):  # the first page is read: Slack refuses the next
                slack.fail_next("users.list", error="invalid_cursor")
            return super().write(text)

    terminal = Watched()
    monkeypatch.setattr("sys.stderr", terminal)
    code, out, _ = levels(capsys, "import", write(tmp_path, "email,level\nada@acme.test,5\n"))
    assert (code, out) == (1, "")
    assert terminal.getvalue().startswith("\rreading the workspace's members: 2\nerror: ")
    assert terminal.getvalue().count("\n") == 2 and "invalid_cursor" in terminal.getvalue()
    assert _level_and_department(env, "U1") is None


def _stored(env, user_id):
    with session_scope(env["DATABASE_URL"]) as session:
        member = session.scalar(select(Member).where(Member.user_id == user_id))
        return member and (member.level, member.department, dict(member.sources or {}))


def _export_to(capsys, tmp_path, name="export.csv"):
    code, exported, _ = levels(capsys, "export", "--csv")
    assert code == 0
    (tmp_path / name).write_text(exported, encoding="utf-8")
    return exported


def test_an_exported_department_that_looks_like_a_formula_imports_back_as_it_was(
    env, capsys, tmp_path
):
    """The export writes -Ops as '-Ops for spreadsheets; importing it stored the quote."""
    code, _, _ = levels(capsys, "import", write(tmp_path, "user_id,department\nU2,-Ops\nU1,@HQ\n"))
    assert code == 0 and _stored(env, "U2")[1] == "-Ops"
    exported = _export_to(capsys, tmp_path)
    assert "T1,U1,,,'@HQ,import," in exported and "T1,U2,,,'-Ops,import," in exported
    code, out, err = levels(capsys, "import", "export.csv")
    assert (code, err) == (0, "") and "  unchanged       2" in out
    assert (_stored(env, "U1")[1], _stored(env, "U2")[1]) == ("@HQ", "-Ops")


def test_reimporting_an_export_keeps_guesses_as_guesses_and_says_so(env, capsys, tmp_path):
    """U1's level is their job title's guess, U2's their profile field's: re-importing the
    export made both "HR import", and later title or profile changes were then outranked."""
    assert levels(capsys, "map", "--level-field", "Grade")[0] == 0
    assert levels(capsys, "sync", "--all")[0] == 0
    code, _, _ = levels(capsys, "import", write(tmp_path, "user_id,department\nU1,Eng\n"))
    assert code == 0
    assert _stored(env, "U1") == (8, "Eng", {"level": "title", "department": "import"})
    assert _stored(env, "U2") == (4, None, {"level": "profile"})
    exported = _export_to(capsys, tmp_path)
    assert "T1,U1,8,title,Eng,import," in exported and "T1,U2,4,profile,,," in exported
    code, out, err = levels(capsys, "import", "export.csv")
    assert (code, err) == (0, "")
    assert "ignored columns: team_id\n" in out  # the _source columns are read, not ignored
    assert (
        "  kept            2  values left as they are, not made HR data: their _source column "
        "says a job title or profile field guessed them, or an admin or the person set them"
    ) in out
    assert _stored(env, "U1") == (8, "Eng", {"level": "title", "department": "import"})
    assert _stored(env, "U2") == (4, None, {"level": "profile"})
    # what the import gave is imported again: HR edits the export's department
    (tmp_path / "export.csv").write_text(exported.replace(",Eng,import,", ",Ops,import,"))
    code, out, _ = levels(capsys, "import", "export.csv")
    assert code == 0 and "  updated         1" in out and _stored(env, "U1")[1] == "Ops"
    # a source the export never writes is a bad row, not a guess at what it meant
    (tmp_path / "export.csv").write_text(exported.replace(",Eng,import,", ",Eng,HR,"))
    code, out, _ = levels(capsys, "import", "export.csv")
    assert code == 1 and (
        '    export.csv line 2, column "department_source": "hr" is not a source: one of admin, '
        "import, profile, self, title, or empty for HR data"
    ) in out
    assert _stored(env, "U1")[1] == "Ops"


def test_a_file_without_source_columns_says_nothing_of_kept_values(env, capsys, tmp_path):
    code, out, _ = levels(capsys, "import", write(tmp_path, "user_id,level\nU1,3\n"))
    assert code == 0 and "kept" not in out and _stored(env, "U1")[2] == {"level": "import"}


def _level_and_department(env, user_id):
    with session_scope(env["DATABASE_URL"]) as session:
        row = session.execute(
            select(Member.level, Member.department).where(Member.user_id == user_id)
        ).one_or_none()
    return tuple(row) if row else None


def test_a_row_with_fewer_cells_than_the_header_is_a_bad_row_not_a_removal(env, capsys, tmp_path):
    code, _, _ = levels(capsys, "import", write(tmp_path, "user_id,level,department\nU2,5,Sales\n"))
    assert code == 0 and _level_and_department(env, "U2") == (5, "Sales")
    name = write(tmp_path, "user_id,level,department\nU2\nU1,4\n")
    code, out, err = levels(capsys, "import", name)
    assert (code, err) == (2, NOTHING_APPLIED)
    assert "  matched         0" in out and "  bad rows        2" in out
    assert (
        "    hr.csv line 2: has 2 fewer cell(s) than the header has columns (level, department "
        "missing): add them, or leave a cell empty between commas to remove a value"
    ) in out
    assert "    hr.csv line 3: has 1 fewer cell(s) than the header has columns (department " in out
    assert _level_and_department(env, "U2") == (5, "Sales")
    assert _level_and_department(env, "U1") is None
    code, out, _ = levels(capsys, "import", name, "--strict")
    assert code == 2 and _level_and_department(env, "U2") == (5, "Sales")


def test_a_header_without_rows_is_refused_with_exit_code_2(env, capsys, tmp_path, slack):
    code, out, err = levels(capsys, "import", write(tmp_path, "user_id,level\n\n# none yet\n"))
    assert (code, out) == (2, "")
    assert err == "error: hr.csv: has no rows after the header: add one person a line\n"
    assert not slack.calls("users.list")


def test_export_shows_every_value_and_its_source(env, capsys):
    with session_scope(env["DATABASE_URL"]) as session:
        set_value(session, "T1", "U1", "level", 8, "admin")
        set_value(session, "T1", "U1", "department", "Engineering", "import")
        set_value(session, "T2", "U7", "location", "Oslo", "self")
        set_value(session, "T1", "U1", "manager", "U2", "import")
    code, out, _ = levels(capsys, "export", "--csv")
    assert code == 0
    assert out.splitlines() == [
        "team_id,user_id,level,level_source,department,department_source,location,location_source,"
        "manager,manager_source",
        "T1,U1,8,admin,Engineering,import,,,U2,import",
        "T2,U7,,,,,Oslo,self,,",
    ]
    code, out, _ = levels(capsys, "export", "--team", "T1")
    assert out.splitlines() == [
        "team  user  level      department            location  manager",
        "T1    U1    8 (admin)  Engineering (import)  -         U2 (import)",
    ]


def test_explain_by_id_mention_or_email(env, capsys):
    with session_scope(env["DATABASE_URL"]) as session:
        set_value(session, "T1", "U1", "level", 6, "import")
        set_value(session, "T1", "U1", "level", 3, "self")
    code, out, _ = levels(capsys, "explain", "<@U1>")
    assert code == 0
    assert out.splitlines()[:4] == [
        "U1 in workspace T1",
        "level       6  (HR import)",
        "  import    6  ← used",
        "  self      3",
    ]
    code, by_email, _ = levels(capsys, "explain", "ada@acme.test")
    assert by_email == out
    code, lower_case, _ = levels(capsys, "explain", "u1")  # as the import reads ids too
    assert lower_case == out
    code, out, _ = levels(capsys, "explain", "U2")
    assert "nothing stored: the person is paired as mid-level" in out
    code, _, err = levels(capsys, "explain", "nobody@acme.test")
    assert (code, err) == (2, 'error: no Slack user with email "nobody@acme.test"\n')
    for nobody in ("", "  ", "<@>"):
        code, out, err = levels(capsys, "explain", nobody)
        assert (code, out) == (2, "")
        assert err == "error: name the person: a user id such as U012AB3CD, <@U012AB3CD> or an email\n"


def test_map_then_sync_reads_the_named_field(env, capsys):
    code, out, _ = levels(capsys, "map", "--level-field", "grade")
    assert code == 0 and "  level       Grade" in out
    code, out, _ = levels(capsys, "sync")
    assert code == 0 and out.startswith("read 0 profiles")  # nobody known yet
    code, out, _ = levels(capsys, "sync", "--all")
    assert code == 0 and out.startswith("read 2 profiles of workspace T1: 2 changed")
    with session_scope(env["DATABASE_URL"]) as session:
        levels_by_user = dict(session.execute(select(Member.user_id, Member.level)).all())
    assert levels_by_user == {"U1": 8, "U2": 4}
    code, _, err = levels(capsys, "map", "--location-field", "Office")
    assert code == 2 and err == (
        'error: no custom profile field is labelled "Office"; the workspace has: "Grade"\n'
    )
    code, out, _ = levels(capsys, "map")
    assert "  location    (not read from profiles)" in out


@pytest.fixture
def forgotten(env):
    """Two lunch programs; U1 used forget-me, U2 stopped taking part in one program only."""
    from bot.domain.services import people
    from bot.storage.models import Program

    with session_scope(env["DATABASE_URL"]) as session:
        lunch = Program(team_id="T1", channel_id="C1")
        coffee = Program(team_id="T1", channel_id="C2")
        session.add_all([lunch, coffee])
        session.flush()
        people.forget(session, "T1", "U1")
        people.leave(session, lunch, "U2")
    return env


def _members(env):
    with session_scope(env["DATABASE_URL"]) as session:
        return dict(session.execute(select(Member.user_id, Member.level)).all())


def test_sync_all_does_not_store_again_who_asked_to_be_forgotten(forgotten, capsys):
    """A round stores nothing about people who opted out or used forget-me; walking the whole
    workspace stored their title, level and department again, as if they had never asked.
    Who left one program only is still read."""
    levels(capsys, "map", "--level-field", "Grade")
    code, out, _ = levels(capsys, "sync", "--all")
    assert code == 0
    assert out == (
        "read 1 profiles of workspace T1: 1 changed, 0 could not be read; "
        "skipped 1 people who opted out of the app\n"
    )
    assert _members(forgotten) == {"U2": 4}


def test_an_hr_import_skips_who_asked_to_be_forgotten_and_says_only_how_many(
    forgotten, capsys, tmp_path
):
    """HR's file names everyone; its row does not outrank forget-me. The summary counts the
    row as skipped without saying whose it was."""
    name = write(tmp_path, "user_id,level,department\nU1,8,Sales\nU2,4,Ops\n")
    code, out, err = levels(capsys, "import", name)
    assert (code, err) == (0, "")
    assert out.splitlines()[:6] == [
        "hr.csv: 2 rows",
        "  matched         1",
        "  updated         1",
        "  unchanged       0",
        "  skipped         1  people who opted out of the app: nothing about them is stored",
        "  unknown         0",
    ]
    assert "U1" not in out and "line 2" not in out
    assert _members(forgotten) == {"U2": 4}


def test_a_file_of_only_people_who_opted_out_is_handled_not_refused(forgotten, capsys, tmp_path):
    # their rows do not change the exit code (docs/levels.md), even when they are all there is
    code, out, err = levels(capsys, "import", write(tmp_path, "user_id,level\nU1,8\n"))
    assert (code, err) == (0, "")
    assert "see the rows above" not in out and "skipped         1" in out
    assert _members(forgotten) == {}


def test_an_hr_import_keeps_no_reporting_line_to_who_asked_to_be_forgotten(
    forgotten, slack, capsys, tmp_path
):
    slack.add_user("T1", "U3")
    name = write(tmp_path, "user_id,manager\nU2,U1\nU3,U2\n")
    code, _, err = levels(capsys, "import", name)
    assert (code, err) == (0, "")
    with session_scope(forgotten["DATABASE_URL"]) as session:
        managers = dict(session.execute(select(Member.user_id, Member.manager)).all())
    assert managers == {"U2": None, "U3": "U2"}


def test_a_manager_field_naming_who_asked_to_be_forgotten_is_not_kept(forgotten, slack, capsys):
    slack.set_profile_fields("T1", [{"id": "Xf1", "label": "Grade"},
                                    {"id": "Xm1", "label": "Manager", "type": "user"}])  # fmt: skip
    slack.add_user("T1", "U3", profile_fields={"Xm1": "U1"})  # reports to the forgotten U1
    slack.add_user("T1", "U4", profile_fields={"Xm1": "U3"})
    levels(capsys, "map", "--manager-field", "Manager")
    assert levels(capsys, "sync", "--all")[0] == 0
    with session_scope(forgotten["DATABASE_URL"]) as session:
        managers = dict(session.execute(select(Member.user_id, Member.manager)).all())
    assert managers == {"U2": None, "U3": None, "U4": "U3"}


def test_titles_show_try_replace_and_reset(env, capsys, tmp_path):
    code, out, _ = levels(capsys, "titles", "--try", "Senior Engineer", "--try", "Wizard")
    assert code == 0
    senior, wizard = out.splitlines()
    assert senior.startswith('"Senior Engineer" → 5  (rule ') and senior.endswith('"senior" → 5)')
    assert wizard == '"Wizard" → no rule matches (level unknown)'
    code, out, _ = levels(capsys, "titles")
    assert out.startswith("# shipped table for workspace T1") and "\nintern,1\n" in out
    name = write(tmp_path, "pattern,level,note\nwizard,7,our own\n", "titles.csv")
    code, out, _ = levels(capsys, "titles", name)
    assert code == 0 and "1 rules from titles.csv" in out
    with session_scope(env["DATABASE_URL"]) as session:
        assert session.get(Workspace, "T1").title_rules == [["wizard", 7]]
    code, out, _ = levels(capsys, "titles", "--try", "Wizard")
    assert '"Wizard" → 7' in out
    bad = write(tmp_path, "pattern,level\nwizard,high\n", "bad.csv")
    code, _, err = levels(capsys, "titles", bad)
    assert (code, err) == (
        2,
        'error: bad.csv line 2, column "level": "high" is not a whole number from 1 to 9\n',
    )
    code, out, _ = levels(capsys, "titles", "--reset")
    assert code == 0 and "the shipped table" in out
    with session_scope(env["DATABASE_URL"]) as session:
        assert session.get(Workspace, "T1").title_rules is None


def test_a_token_slack_refuses_is_one_line(env, capsys, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    code, _, err = levels(capsys, "explain", "U1")
    assert code == 2
    assert err == (
        "error: Slack refused SLACK_BOT_TOKEN (invalid_auth): check the Bot User OAuth Token "
        "under OAuth & Permissions and that the app is installed\n"
    )


def test_with_team_a_revoked_token_is_one_line_before_any_change(env, capsys, tmp_path, slack):
    name = write(tmp_path, "email,level\nada@acme.test,8\n")
    slack.revoke_token("xoxb-T1")
    code, out, err = levels(capsys, "import", name, "--team", "T1")
    assert (code, out) == (2, "")
    assert err == (
        "error: Slack refused SLACK_BOT_TOKEN (token_revoked): check the Bot User OAuth Token "
        "under OAuth & Permissions and that the app is installed\n"
    )
    with session_scope(env["DATABASE_URL"]) as session:
        assert session.scalar(select(Member.level).where(Member.user_id == "U1")) is None


def test_a_team_that_is_not_the_tokens_workspace_is_refused_before_any_change(env, capsys,
                                                                             tmp_path):
    name = write(tmp_path, "email,level\nada@acme.test,8\n")
    code, out, err = levels(capsys, "import", name, "--team", "TNOPE")
    assert (code, out) == (2, "")
    assert err == (
        "error: --team TNOPE is not the workspace of SLACK_BOT_TOKEN (T1): leave --team out, "
        "or give --team T1\n"
    )
    with session_scope(env["DATABASE_URL"]) as session:
        assert session.scalars(select(Member.team_id)).all() == []


def test_with_team_slack_out_of_reach_is_said_after_a_few_tries(env, capsys, tmp_path,
                                                                 monkeypatch, dropping_slack):
    name = write(tmp_path, "email,level\nada@acme.test,8\n")
    monkeypatch.setenv("SLACK_API_URL", dropping_slack.api_url)
    code, out, err = levels(capsys, "import", name, "--team", "T1")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: cannot reach Slack at {dropping_slack.api_url} (")
    assert err.endswith("): check the network connection, or SLACK_API_URL if you changed it\n")
    assert err.count("\n") == 1 and dropping_slack.attempts == 3  # quick: not eight retries


def test_output_that_cannot_be_written_is_not_blamed_on_slack(env, monkeypatch):
    """A full disk or a closed pipe under `levels titles` was "cannot reach Slack", exit 1;
    it goes to the command line, which says what it is (tests/test_cli_output.py)."""

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    parser = argparse.ArgumentParser(prog="python -m bot")
    levels_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["levels", "titles"])
    monkeypatch.setattr("sys.stdout", Full())
    with pytest.raises(OSError) as raised:
        args.func(args)
    assert raised.value.errno == errno.ENOSPC


def test_progress_goes_to_stderr_only_when_it_is_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert levels_cli._progress("importing") is None
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    report = levels_cli._progress("importing")
    report(100, 250)
    report(250, 250)
    assert terminal.getvalue() == "\rimporting 100/250\rimporting 250/250\n"


@pytest.mark.parametrize("command", ["import", "export", "explain", "map", "titles", "sync"])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as done:
        levels(capsys, command, "--help")
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m bot levels " + command)


@pytest.mark.slow
def test_the_real_command_line_reports_bad_rows_without_a_traceback(env, tmp_path, slack):
    write(tmp_path, "user_id,level\nU1,oops\nU2,5\n")
    result = run_cli("levels", "import", "hr.csv", env=app_env(**env), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert (
        'hr.csv line 2, column "level": "oops" is not a whole number from 1 to 9' in result.stdout
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [("import", "hr.csv", "--dry-run"), ("explain", "U1"),
                                     ("map",), ("titles", "--try", "Senior Recruiter"),
                                     ("sync",)])  # fmt: skip
def test_a_missing_token_is_one_line_and_leaves_no_database_behind(tmp_path, command):
    """Run with no .env: the token is asked for first, not after a new database was made
    (and its upgrade logged) in the working directory."""
    write(tmp_path, "email,level\nada@acme.test,8\n")
    result = run_cli("levels", *command, env=app_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "error: SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from "
        "OAuth & Permissions\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["hr.csv"]


def test_ctrl_c_during_an_import_says_nothing_was_saved(env, slack, tmp_path):
    """Ctrl-C while the import reads the directory: exit 130 and a line saying the file was
    not saved (an import commits once, at its end), not a silent exit."""
    write(tmp_path, "email,level\nada@acme.test,8\n")
    for i in range(6):
        slack.add_user("T1", f"UX{i}")
    slack.latency = 0.5  # every call takes half a second, and the directory comes one
    slack.max_page_size = 1  # person a page: the import is still reading it at the signal
    code, err = interrupt_cli("levels", "import", "hr.csv", env=app_env(**env), cwd=tmp_path,
                              once=lambda: slack.calls("users.list"))  # a page read, more to come
    assert code == 130
    assert err.strip() == ("interrupted: nothing from hr.csv was saved (an import is saved "
                           "whole or not at all); run it again to import it")  # fmt: skip
    assert _level_and_department(env, "U1") is None  # nobody written


@pytest.mark.postgres
def test_sync_all_keeps_no_transaction_open_while_slack_answers(env, slack, capsys, monkeypatch):
    """PostgreSQL ends a session left idle inside a transaction once its
    idle_in_transaction_session_timeout passes (managed databases set one): `sync --all`
    walked the workspace's members in Slack inside the transaction that had read who is
    stored, and stopped with an error. Slack answers here after that timeout."""
    assert env["DATABASE_URL"].startswith("postgresql")
    monkeypatch.setenv("DATABASE_URL", idle_cut(env["DATABASE_URL"]))
    assert levels(capsys, "map", "--level-field", "grade")[0] == 0
    with session_scope(env["DATABASE_URL"]) as session:
        session.add(Member(team_id="T1", user_id="U1", values={}, sources={}))
    slack.slow_next("users.list", IDLE_CUT + 0.5)  # the walk of the workspace's members
    code, out, err = levels(capsys, "sync", "--all")
    assert (code, err) == (0, "")
    assert out.startswith("read 2 profiles of workspace T1: 2 changed")
