"""`python -m bot export` and `import`: a SQLite install moves to PostgreSQL (or, on a
SQLite-only run, to another SQLite file) keeping its history, so the next round still repeats
no pair; the file round-trips exactly; wrong files and full targets are refused in one line."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import app_env, run_cli
from freezegun import freeze_time
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import func, select

from bot.common.config import load
from bot.domain.services import rounds, stats
from bot.domain.services.history import groups_of
from bot.domain.services.workspaces import installation_store
from bot.storage import transfer
from bot.storage.db import engine_for, head_revision, migrate, session_scope
from bot.storage.models import (
    Admin,
    Group,
    GroupMember,
    Member,
    Participation,
    Program,
    Round,
    Workspace,
)

PEOPLE = [f"U{i:02d}" for i in range(1, 12)]
HEAD = head_revision()
MONDAY = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)


def settings_for(slack, url: str, **extra: str):
    return load(
        {
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": url,
            "SLACK_RATE_SCALE": "1000",
            **({"SLACK_BOT_TOKEN": "xoxb-T1"} if not extra else extra),
        }
    )


@pytest.fixture
def source(tmp_path, slack):
    """A SQLite install's settings, whatever database the other side of the move is."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    migrate(url)
    return settings_for(slack, url)


def cli_env(url: str) -> dict[str, str]:
    return app_env(DATABASE_URL=url)


def export(url: str, out: Path, cwd: Path):
    return run_cli("export", "--out", str(out), env=cli_env(url), cwd=cwd)


def import_(url: str, path: Path, cwd: Path):
    return run_cli("import", str(path), env=cli_env(url), cwd=cwd)


def pairs_of(url: str) -> list[frozenset]:
    """Every pair that has shared a group, once per round they shared it."""
    with session_scope(url) as session:
        groups = session.scalars(select(Group)).all()
        found = []
        for group in groups:
            ids = sorted(m.user_id for m in group.members)
            found += [frozenset((a, b)) for a in ids for b in ids if a < b]
    return found


def run_weeks(settings, program_id: int, weeks: range) -> list[rounds.RoundReport]:
    """Rounds as the clock runs them: the round, its check-ins, some answers, its close."""
    reports = []
    for week in weeks:
        slot = MONDAY + dt.timedelta(weeks=week)
        with freeze_time(slot):
            report = rounds.run_round(settings, program_id, slot=rounds.utcnow())
        with freeze_time(slot + dt.timedelta(days=3, minutes=1)):
            rounds.send_due_checkins(settings, rounds.utcnow())
        with session_scope(settings.database_url) as session:
            groups = session.get(Round, report.round_id).groups
            answers = [(g.id, g.members[0].user_id) for g in groups[: 1 + week % 3]]
        for n, (group_id, user_id) in enumerate(answers):
            outcome = "met" if n % 2 == 0 else "couldnt"
            assert rounds.record_checkin(settings, "T1", group_id, user_id, outcome)
        with freeze_time(slot + dt.timedelta(days=6, hours=23)):
            rounds.close_due_rounds(settings, rounds.utcnow())
        reports.append(report)
    return reports


def what_people_see(url: str, program_id: int):
    """Stats an admin sees and each person's own history of groups."""
    with session_scope(url) as session:
        figures = stats.program_stats(session, session.get(Program, program_id))
        history = {user: groups_of(session, "T1", user) for user in PEOPLE}
    return figures, history


def test_a_sqlite_install_moves_with_its_history_and_the_next_round_repeats_no_pair(
    slack, source, settings, tmp_path
):
    for user in PEOPLE:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_channel("T1", "C1", "lunch", members=PEOPLE + ["UBOT"])
    with session_scope(source.database_url) as session:
        program = Program(team_id="T1", channel_id="C1", post_summary=True)
        session.add(program)
        session.flush()
        program_id = program.id
        session.add(Participation(program_id=program_id, user_id="U11", paused_until=None))
    # Another workspace installed through OAuth: its token lives in slack_sdk's tables.
    oauth = dict(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="secret")
    installed_at = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC).timestamp()
    installation_store(settings_for(slack, source.database_url, **oauth)).save(
        Installation(
            app_id="A1", enterprise_id=None, team_id="T9", team_name="Other", bot_token="xoxb-T9",
            bot_id="B9", bot_user_id="UB9", user_id="U9", bot_scopes=["chat:write"],
            installed_at=installed_at,
        )
    )
    before = run_weeks(source, program_id, range(3))
    assert [r.delivered for r in before] == [5, 5, 5]
    earlier = pairs_of(source.database_url)
    assert len(earlier) == len(set(earlier)) == 3 * 7  # four pairs and a trio (3 pairs), three rounds

    moved = tmp_path / "lunch.jsonl"
    result = export(source.database_url, moved, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "readable by you only" in result.stdout
    assert stat.S_IMODE(os.stat(moved).st_mode) == 0o600
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"imported {len(moved.read_text().splitlines()) - 1:,} rows" in result.stdout

    # Admins' figures and everyone's own history are the same on the new database.
    assert what_people_see(settings.database_url, program_id) == what_people_see(
        source.database_url, program_id
    )
    assert sum(len(h) for h in what_people_see(settings.database_url, program_id)[1].values())
    # So is the other workspace's installation, token and time of install included.
    found = installation_store(settings_for(slack, settings.database_url, **oauth)).find_bot(
        enterprise_id=None, team_id="T9"
    )
    assert (found.bot_token, found.installed_at) == ("xoxb-T9", installed_at)

    # The next round, on the new database: no pair meets again, and new rows get new ids.
    (after,) = run_weeks(settings, program_id, range(3, 4))
    assert after.delivered == 5 and after.round_id > max(r.round_id for r in before)
    pairs = pairs_of(settings.database_url)
    assert len(pairs) == 4 * 7 and len(set(pairs)) == len(pairs)
    with session_scope(settings.database_url) as session:
        session.add(Admin(team_id="T1", user_id="U01"))  # a table with no row before


def test_export_import_export_gives_the_same_file_and_the_same_values(
    slack, source, settings, tmp_path
):
    precise = dt.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=dt.UTC)
    values = {"level": {"admin": 7, "title": 4}, "note": "Zoë, 食堂 \"quoted\"\n", "list": [1, None]}
    with session_scope(source.database_url) as session:
        session.add(Workspace(team_id="T1", name="Acme ☕", title_rules=[{"pattern": "VP*", "level": 9}]))
        session.add(
            Member(team_id="T1", user_id="U1", level=7, values=values, sources={"level": "admin"},
                   profile_synced_at=precise, paused_until=dt.date(2026, 12, 31), title=None)
        )
        program = Program(team_id="T1", channel_id="C1", anchor_date=dt.date(2026, 1, 5),
                          next_run_at=precise, heads_up=True)
        session.add(program)
        session.flush()
        round_ = Round(program_id=program.id, slot=precise, status="closed", seed=2**31 - 1)
        session.add(round_)
        session.flush()
        group = Group(round_id=round_.id, position=0, starter="<b>&amp;", responders=["U1"])
        group.members = [GroupMember(user_id="U1"), GroupMember(user_id="forgotten-1")]
        session.add(group)
    oauth = dict(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="secret")
    installation_store(settings_for(slack, source.database_url, **oauth)).save(
        Installation(app_id="A1", enterprise_id="E1", team_id="T1", bot_token="xoxb-T1",
                     bot_id="B1", bot_user_id="UB", user_id="U1", bot_token_expires_in=3600,
                     installed_at=precise.timestamp())
    )

    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert export(source.database_url, first, tmp_path).returncode == 0
    result = import_(settings.database_url, first, tmp_path)
    assert result.returncode == 0, result.stderr
    result = export(settings.database_url, second, tmp_path)
    assert result.returncode == 0, result.stderr
    assert second.read_bytes() == first.read_bytes()

    with session_scope(settings.database_url) as session:
        member = session.scalar(select(Member))
        assert (member.values, member.profile_synced_at, member.paused_until) == (
            values, precise, dt.date(2026, 12, 31)
        )
        assert member.profile_synced_at.utcoffset() == dt.timedelta(0)
        assert session.scalar(select(Round)).slot == precise
        assert session.get(Workspace, "T1").title_rules == [{"pattern": "VP*", "level": 9}]
    header, *rows = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert header["revision"] == HEAD and header["version"] == 1
    order = [row["table"] for row in rows]
    assert order.index("programs") < order.index("rounds") < order.index("groups")
    assert order.index("groups") < order.index("group_members")


def small_install(url: str) -> int:
    """A member, a program and three rounds; returns the program's id."""
    with session_scope(url) as session:
        session.add(Member(team_id="T1", user_id="U1", values={}, sources={}))
        program = Program(team_id="T1", channel_id="C1")
        session.add(program)
        session.flush()
        for week in range(3):
            session.add(Round(program_id=program.id, slot=MONDAY + dt.timedelta(weeks=week)))
        return program.id


_EXPORTED: dict[str, bytes] = {}  # the small install's export, made once per test run


@pytest.fixture
def moved(slack, source, tmp_path) -> Path:
    """An export of a small install, for tests that change it and import it: exported by the
    command once, then copied, as the tests read only the file (a process start saved each)."""
    path = tmp_path / "lunch.jsonl"
    if "small" not in _EXPORTED:
        small_install(source.database_url)
        assert export(source.database_url, path, tmp_path).returncode == 0
        _EXPORTED["small"] = path.read_bytes()
    path.write_bytes(_EXPORTED["small"])
    return path


def test_an_export_is_one_snapshot_while_the_app_keeps_writing(settings, tmp_path):
    """On the tested backend (PostgreSQL when set), the app writing during an export."""
    url = settings.database_url
    program_id = small_install(url)
    out = tmp_path / "lunch.jsonl"
    written = []

    def meanwhile(table, done, total):  # after the members, before the rounds are read
        if not written:
            with session_scope(url) as session:
                session.add(Round(program_id=program_id, slot=MONDAY + dt.timedelta(weeks=9)))
            written.append(table)

    transfer.export(url, out, meanwhile)
    assert written == ["members"]
    header, *rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert header["tables"]["rounds"] == 3 == sum(row["table"] == "rounds" for row in rows)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = import_(target, out, tmp_path)
    assert result.returncode == 0, result.stderr


def rows_in(url: str) -> int:
    with session_scope(url) as session:
        return sum(session.scalar(select(func.count()).select_from(m)) for m in (Member, Program, Round))


def test_a_database_that_holds_rows_is_refused_and_left_as_it_was(moved, settings, tmp_path):
    with session_scope(settings.database_url) as session:
        session.add(Member(team_id="T2", user_id="U7", values={}, sources={}))
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the database at DATABASE_URL already holds rows (members: 1): import only into "
        "a new, empty database (create one, point DATABASE_URL at it, run "
        "`python -m bot migrate`, then import again)"
    )
    assert rows_in(settings.database_url) == 1


def test_an_empty_database_not_yet_migrated_is_migrated_and_filled(moved, database_url, tmp_path):
    result = import_(database_url, moved, tmp_path)
    assert result.returncode == 0, result.stderr
    assert rows_in(database_url) == 5


def rewrite(path: Path, change) -> Path:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    change(lines)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def set_header(key, value):
    return lambda lines: lines[0].__setitem__(key, value)


def set_field(table, field, value):
    def change(lines):
        row = next(line for line in lines[1:] if line["table"] == table)
        row["row"][field] = value
    return change


def line_of(path: Path, table: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if json.loads(line).get("table") == table)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            set_header("version", 2),
            "lunch.jsonl line 1: format version 2, but this app reads version 1: import it "
            "with the app version that exported it",
        ),
        (
            set_header("revision", "0005_edge"),
            "lunch.jsonl line 1: exported at schema revision '0005_edge', but this app's schema "
            f"is {HEAD}: export and import with the same app version (upgrade the source "
            "first: `python -m bot migrate`, then export again)",
        ),
        (
            set_header("format", "csv"),
            "lunch.jsonl line 1: not a Worth Knowing export (make one with "
            "`python -m bot export --out FILE`)",
        ),
    ],
    ids=["version", "revision", "format"],
)
def test_a_file_of_another_format_or_schema_is_refused(moved, settings, tmp_path, change, message):
    result = import_(settings.database_url, rewrite(moved, change), tmp_path)
    assert (result.returncode, result.stderr.strip()) == (2, f"error: {message}")
    assert rows_in(settings.database_url) == 0


@pytest.mark.parametrize(
    ("table", "field", "value", "problem"),
    [
        ("rounds", "slot", "2026-01-05T12:00:00", "'2026-01-05T12:00:00' has no time zone (such as +00:00)"),
        ("rounds", "slot", "next monday", "'next monday' is not a date and time"),
        ("members", "paused_until", "soon", "'soon' is not a date (YYYY-MM-DD)"),
        ("members", "level", "7", "'7' is not a whole number"),
        ("members", "level", 42, '"42" is not a whole number from 1 to 9'),
        ("members", "level", 10**23, f"{10**23} is too large for this column"),
        ("rounds", "program_id", -(2**31) - 1, f"{-(2**31) - 1} is too large for this column"),
        ("programs", "enabled", "yes", "'yes' is not true or false"),
        ("members", "values", None, "is empty but must have a value"),
        ("programs", "channel_id", "C" * 40, "is 40 characters long; at most 32 fit"),
    ],
)
def test_a_wrong_value_names_file_line_and_field_and_imports_nothing(
    moved, settings, tmp_path, table, field, value, problem
):
    number = line_of(moved, table)
    rewrite(moved, set_field(table, field, value))
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: lunch.jsonl line {number}: field '{field}' of {table}: {problem}"
    )
    assert rows_in(settings.database_url) == 0


def drop_field(table, field):
    def change(lines):
        next(line for line in lines[1:] if line["table"] == table)["row"].pop(field)
    return change


def rounds_first(lines):
    first = next(n for n, line in enumerate(lines) if line.get("table") == "rounds")
    lines.insert(1, lines.pop(first))


def unknown_table(lines):
    lines[-1]["table"] = "lunch_notes"


@pytest.mark.parametrize(
    ("change", "line", "problem"),
    [
        (set_field("members", "mood", "happy"), "members", "field 'mood': table members has no such column"),
        (drop_field("members", "level"), "members", "field 'level' is missing"),
        (unknown_table, -1, "field 'table': unknown table 'lunch_notes'"),
        (rounds_first, "members", "rows of members after rows of rounds: tables must come in the order export writes them"),
        (set_header("tables", {"members": 1, "programs": 1, "rounds": 2}), -1, "more rows of rounds than the header's 2"),
    ],
    ids=["extra field", "missing field", "unknown table", "order", "more rows"],
)
def test_a_file_changed_by_hand_names_the_line_and_imports_nothing(
    moved, settings, tmp_path, change, line, problem
):
    rewrite(moved, change)
    number = len(moved.read_text().splitlines()) if line == -1 else line_of(moved, line)
    result = import_(settings.database_url, moved, tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2, f"error: lunch.jsonl line {number}: {problem}"
    )
    assert rows_in(settings.database_url) == 0


def test_a_line_that_is_not_json_is_named(moved, settings, tmp_path):
    with moved.open("a") as stream:
        stream.write("{oops\n")
    result = import_(settings.database_url, moved, tmp_path)
    number = len(moved.read_text().splitlines())
    assert (result.returncode, result.stderr.strip()) == (
        2, f"error: lunch.jsonl line {number}: not a JSON object"
    )


def test_blank_lines_such_as_an_editors_last_newline_are_not_an_error(moved, settings, tmp_path):
    with moved.open("a") as stream:
        stream.write("\n\n")
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 0, result.stderr
    assert rows_in(settings.database_url) == 5


def test_a_line_that_is_not_text_is_named(moved, settings, tmp_path):
    with moved.open("ab") as stream:
        stream.write(b'{"table": "\xff"}\n')
    result = import_(settings.database_url, moved, tmp_path)
    number = len(moved.read_bytes().splitlines())
    assert (result.returncode, result.stderr.strip()) == (
        2, f"error: lunch.jsonl line {number}: not UTF-8 text"
    )


def test_an_incomplete_file_imports_nothing(moved, settings, tmp_path):
    lines = moved.read_text().splitlines(keepends=True)
    moved.write_text("".join(lines[:-1]))  # the last round's line lost
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: lunch.jsonl: 2 rows of table rounds, but its header says 3: the file is "
        "incomplete, export it again (nothing was imported)"
    )
    assert rows_in(settings.database_url) == 0


def test_rows_the_database_refuses_are_reported_and_nothing_is_imported(moved, settings, tmp_path):
    rewrite(moved, set_field("rounds", "program_id", 999))
    result = import_(settings.database_url, moved, tmp_path)
    assert result.returncode == 2
    first = line_of(moved, "rounds")
    assert result.stderr.startswith(
        f"error: lunch.jsonl lines {first}-{first + 2}: rows of rounds the database refuses ("
    )
    assert result.stderr.strip().endswith("; nothing was imported")
    assert len(result.stderr.strip().splitlines()) == 1
    assert rows_in(settings.database_url) == 0


def test_a_database_with_a_table_unknown_to_this_version_is_not_exported(source, tmp_path):
    with engine_for(source.database_url).begin() as connection:
        connection.exec_driver_sql("CREATE TABLE lunch_notes (id INTEGER PRIMARY KEY)")
    result = export(source.database_url, tmp_path / "lunch.jsonl", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: the database has tables this version of the app does not know (lunch_notes): "
        "export with the version that created them"
    )
    assert not (tmp_path / "lunch.jsonl").exists()


def test_a_database_behind_the_app_is_not_exported(tmp_path):
    from alembic import command

    from bot.storage.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with engine_for(url).begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0005_edge")
    result = export(url, tmp_path / "lunch.jsonl", tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"error: the database is at schema revision 0005_edge, this app at {HEAD}: "
        "run `python -m bot migrate` first",
    )


def test_an_empty_database_or_a_missing_folder_is_said_so(source, tmp_path):
    typo = tmp_path / "typo.db"
    result = export(f"sqlite:///{typo}", tmp_path / "lunch.jsonl", tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"error: no database at {typo}: run the command from the folder that holds the "
        "database, point DATABASE_URL at it, or run `python -m bot migrate` to start a new one",
    )
    assert not typo.exists()  # not made, empty, by the export
    typo.touch()  # an empty SQLite database
    result = export(f"sqlite:///{typo}", tmp_path / "lunch.jsonl", tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "error: the database at DATABASE_URL is empty (no schema): is DATABASE_URL the one to "
        "export?",
    )
    result = export(source.database_url, tmp_path / "nowhere" / "lunch.jsonl", tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2, f"error: cannot write {tmp_path / 'nowhere' / 'lunch.jsonl'}: No such file or directory"
    )


def test_the_file_is_private_even_where_it_replaces_a_readable_one(source, tmp_path):
    out = tmp_path / "lunch.jsonl"
    out.write_text("old")
    out.chmod(0o644)
    old_umask = os.umask(0)
    try:
        assert export(source.database_url, out, tmp_path).returncode == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads(out.read_text().splitlines()[0])["format"] == transfer.FORMAT
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_a_link_stays_a_link_and_the_file_it_names_gets_the_export(source, tmp_path):
    (tmp_path / "backups").mkdir()
    real = tmp_path / "backups" / "lunch.jsonl"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "lunch.jsonl"
    link.symlink_to(Path("backups") / "lunch.jsonl")
    assert export(source.database_url, link, tmp_path).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("backups") / "lunch.jsonl")
    assert json.loads(real.read_text().splitlines()[0])["format"] == transfer.FORMAT
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert [p.name for p in tmp_path.rglob("*partial*")] == []


def test_a_pipe_or_a_folder_is_refused_and_left_as_it_was(source, tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "to-pipe").symlink_to("pipe")
    (tmp_path / "folder").mkdir()
    for name, what in [
        ("pipe", "a named pipe"),
        ("to-pipe", "a link to a named pipe"),
        ("folder", "a directory"),
    ]:
        result = export(source.database_url, tmp_path / name, tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (
            2, "", f"error: cannot write {tmp_path / name}: it is {what}: name a regular file\n"
        )  # fmt: skip
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert os.readlink(tmp_path / "to-pipe") == "pipe"
    assert list((tmp_path / "folder").iterdir()) == []
    assert [p.name for p in tmp_path.rglob("*partial*")] == []


def test_both_commands_explain_themselves_and_warn_about_tokens(tmp_path):
    for command in ("export", "import"):
        result = run_cli(command, "--help", env=app_env(), cwd=tmp_path)
        assert result.returncode == 0
        text = " ".join(result.stdout.split())
        assert "Slack tokens" in text and "0600" in text


def test_every_table_the_migrations_make_is_carried(migrated_url):
    from sqlalchemy import inspect

    with engine_for(migrated_url).connect() as connection:
        present = set(inspect(connection).get_table_names()) - {"alembic_version"}
    assert {table.name for table in transfer.tables()} == present


def test_the_database_itself_is_never_overwritten_by_its_export(source, tmp_path):
    """`export --out` naming DATABASE_URL's own file replaced the database with its export,
    with "exported … rows" and exit 0."""
    small_install(source.database_url)
    database = Path(source.database_url.removeprefix("sqlite:///"))
    for target in (database, database.with_name(database.name + "-wal")):
        result = export(source.database_url, target, tmp_path)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert result.stderr == (
            f"error: cannot write {target}: it is a SQLite database (or one of its journal "
            "files), not an export: name another file\n"
        )
    assert rows_in(source.database_url) == 5  # still the database, rows and all
