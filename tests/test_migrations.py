"""Schema upgrades through Alembic, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

import datetime as dt
import json
import uuid

import pytest
from conftest import app_env, run_cli
from sqlalchemy import inspect, text

from bot.storage.db import engine_for, head_revision


def test_migrate_twice_is_a_no_op_the_second_time(database_url, tmp_path):
    env = app_env(DATABASE_URL=database_url)
    first = run_cli("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"database at revision {head_revision()}" in first.stdout
    second = run_cli("migrate", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stdout
    tables = set(inspect(engine_for(database_url)).get_table_names())
    expected = {
        "members",
        "programs",
        "participations",
        "rounds",
        "groups",
        "group_members",
        "unmatched_members",
        "processed_events",
        "admins",
    }
    slack_stores = {"slack_installations", "slack_bots", "slack_oauth_states"}
    assert expected | slack_stores <= tables


def test_models_match_the_migrations(migrated_url):
    """A model changed without a migration would surface here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.storage.models import Base

    with engine_for(migrated_url).connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, Base.metadata)
    ours = set(Base.metadata.tables)
    relevant = [d for d in diff if _table_of(d) in ours]
    assert relevant == []


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str):
            return part
        if name:
            return name
    return None


def test_grid_workspaces_installed_before_0002_get_their_org(database_url):
    """Scheduled work finds a Grid workspace's token by its org: the upgrade copies the org
    from the stored bot, so rounds keep running after the upgrade."""
    import datetime as dt

    from alembic import command
    from sqlalchemy import text

    from bot.storage.db import alembic_config, migrate

    config = alembic_config(database_url)
    with engine_for(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    installed = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    with engine_for(database_url).begin() as connection:
        for team, org in (("TG", "E1"), ("TP", None)):
            connection.execute(
                text(
                    "INSERT INTO workspaces (team_id, active, created_at) "
                    "VALUES (:team, :yes, :at)"
                ),
                {"team": team, "yes": True, "at": installed},
            )
            connection.execute(
                text(
                    "INSERT INTO slack_bots (client_id, app_id, enterprise_id, team_id, "
                    "bot_token, bot_id, bot_user_id, is_enterprise_install, installed_at) "
                    "VALUES ('1.2', 'A1', :org, :team, 'xoxb', 'B1', 'UBOT', :no, :at)"
                ),
                {"org": org, "team": team, "no": False, "at": installed},
            )
    migrate(database_url)
    with engine_for(database_url).connect() as connection:
        rows = dict(
            connection.execute(text("SELECT team_id, enterprise_id FROM workspaces")).all()
        )
    assert rows == {"TG": "E1", "TP": None}


def test_upgrading_lets_a_persons_own_level_win_over_the_job_titles(database_url):
    """0007 recomputes the winner for people who gave their own level and have a title's:
    the upgrade makes theirs count, the downgrade puts the title's back, nothing is lost."""
    from alembic import command
    from sqlalchemy import text

    from bot.storage.db import alembic_config, schema_change

    config = alembic_config(database_url)

    def to(revision: str, down: bool = False) -> None:
        with schema_change(database_url) as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    def levels() -> dict:
        with engine_for(database_url).connect() as connection:
            rows = connection.execute(text("SELECT user_id, level, sources FROM members"))
            return {  # a JSON column: text on SQLite, already read on PostgreSQL
                user: (level, (json.loads(sources) if isinstance(sources, str) else sources)["level"])
                for user, level, sources in rows
            }

    to("0006_exact")
    people = {  # user: (level, sources, values) as 0006 resolved them
        "UBOTH": (8, "title", {"title": 8, "self": 3}),
        "UADMIN": (6, "admin", {"admin": 6, "title": 8, "self": 3}),
        "UTITLE": (5, "title", {"title": 5}),
    }
    with engine_for(database_url).begin() as connection:
        for user, (level, source, values) in people.items():
            connection.execute(
                text(
                    "INSERT INTO members (team_id, user_id, level, \"values\", sources, "
                    "deactivated, created_at, updated_at) VALUES ('T1', :user, :level, "
                    ":values, :sources, :no, :at, :at)"
                ),
                {"user": user, "level": level, "values": json.dumps({"level": values}),
                 "sources": json.dumps({"level": source, "location": "self"}), "no": False,
                 "at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC)},
            )  # fmt: skip
    to("0007_own_level")
    assert levels() == {"UBOTH": (3, "self"), "UADMIN": (6, "admin"), "UTITLE": (5, "title")}
    to("0006_exact", down=True)
    assert levels() == {"UBOTH": (8, "title"), "UADMIN": (6, "admin"), "UTITLE": (5, "title")}


def written_by_a_newer_version(url: str) -> None:
    """As a later version of the app leaves the database: at a revision this one lacks."""
    with engine_for(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))


@pytest.mark.parametrize("command", [("migrate",), ("stats",), ("export", "--out", "x.jsonl")])
def test_a_database_of_a_newer_version_is_one_line_and_left_as_it_is(
    command, migrated_url, tmp_path
):
    written_by_a_newer_version(migrated_url)
    result = run_cli(*command, env=app_env(DATABASE_URL=migrated_url), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "error: the database at DATABASE_URL was written by a newer version of Worth Knowing "
        "(revision 0099_future unknown to this one): upgrade Worth Knowing, or point "
        "DATABASE_URL at this version's database"
    ]
    with engine_for(migrated_url).connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0099_future"


@pytest.mark.parametrize("attempt", range(3))
def test_commands_started_together_on_a_new_database_set_it_up_once(database_url, tmp_path,
                                                                    attempt):
    """serve, the clock and a command started at once each upgrade the empty database: one
    at a time, the others finding it done (they created the same tables together: "table
    admins already exists", or on PostgreSQL a duplicate key in pg_type)."""
    import subprocess
    import sys

    env = app_env(DATABASE_URL=database_url)
    engine_for(database_url).connect().close()  # SQLite: read-only commands make no new file
    commands = [("migrate",), ("stats",), ("migrate",), ("levels", "export")]
    processes = [
        subprocess.Popen([sys.executable, "-m", "bot", *command], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    results = []
    for process in processes:
        try:
            results.append((process.wait(timeout=120), process.stderr.read()))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    with engine_for(database_url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (head_revision(),)
        ]


def test_another_applications_database_is_left_alone(database_url, tmp_path):
    """DATABASE_URL pointing at another application's tables by mistake: no command, even a
    read-only one, adds this app's tables to them."""
    with engine_for(database_url).begin() as connection:
        connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    result = run_cli("stats", env=app_env(DATABASE_URL=database_url), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: the database at DATABASE_URL holds other tables (customers) and none of Worth "
        "Knowing's: point DATABASE_URL at an empty database or at this app's own\n"
    )
    assert inspect(engine_for(database_url)).get_table_names() == ["customers"]


@pytest.mark.postgres
def test_a_role_without_the_rights_it_needs_is_told_which_in_one_line(database_url, tmp_path):
    """A PostgreSQL role that may not create tables (PostgreSQL 15's default on schema
    public) got a traceback from migrate, serve, clock and every command; one that may not
    read them was told to point at "a Worth Knowing database"; a read-only one started a
    clock that logged a traceback at every tick."""
    from conftest import PG_URL
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    role = "r_" + uuid.uuid4().hex[:10]
    schema = text("SELECT current_schema()")
    admin = create_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        name = connection.execute(schema).scalar_one()
    as_role = database_url.replace(make_url(PG_URL).username + "@", role + "@", 1)
    try:
        said = "error: the database at DATABASE_URL refuses this user ("
        refused = said + "permission denied"
        for usage, says in ((False, said + "no schema has been selected"), (True, refused)):
            if usage:  # may use the schema, may not create in it (a new database)
                with admin.begin() as connection:
                    connection.execute(text(f'GRANT USAGE ON SCHEMA "{name}" TO "{role}"'))
            for command in (["migrate"], ["stats"]):
                result = run_cli(*command, env=app_env(DATABASE_URL=as_role), cwd=tmp_path)
                assert result.returncode == 2 and result.stderr.startswith(says), result.stderr
                assert result.stderr.count("\n") == 1  # one line, no traceback

        run_cli("migrate", env=app_env(DATABASE_URL=database_url), cwd=tmp_path)
        result = run_cli("stats", env=app_env(DATABASE_URL=as_role), cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.startswith(
            f"{refused} for table alembic_version)"
        ), result.stderr

        with admin.begin() as connection:  # read-only
            connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{name}" TO "{role}"'))
        env = app_env(DATABASE_URL=as_role, SLACK_BOT_TOKEN="xoxb-T1")
        result = run_cli("clock", env=env, cwd=tmp_path, timeout=30)
        assert result.returncode == 2 and result.stderr.startswith(
            f"{refused} for table clock_ticks)"
        ), result.stderr
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


# -- upgrades keep the history ------------------------------------------------------------------

AT = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
HISTORY = ("programs", "participations", "rounds", "groups", "group_members", "unmatched_members")


def _to(url: str, revision: str, down: bool = False) -> None:
    from alembic import command

    from bot.storage.db import alembic_config, schema_change

    config = alembic_config(url)
    with schema_change(url) as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _a_season_of_lunches(url: str) -> None:
    """A program with a closed round, its group of two, someone who opted out and someone left
    unmatched, as the first schema holds them (every column without a default given)."""
    with engine_for(url).begin() as c:
        c.execute(text("INSERT INTO workspaces (team_id, active, created_at) VALUES ('T1', :y, :at)"),
                  {"y": True, "at": AT})  # fmt: skip
        c.execute(
            text(
                "INSERT INTO programs (id, team_id, channel_id, enabled, cadence, weekday, "
                "time_of_day, timezone, group_size, tz_window_hours, allow_guests, post_summary, "
                "heads_up, self_service_levels, checkin_after_days, created_at) VALUES (1, 'T1', "
                "'C1', :y, 'weekly', 0, '12:00', 'UTC', 2, 3, :n, :n, :n, :n, 3, :at)"
            ),
            {"y": True, "n": False, "at": AT},
        )
        c.execute(text("INSERT INTO participations (program_id, user_id, opted_out, silent_rounds) "
                       "VALUES (1, 'U9', :y, 0)"), {"y": True})  # fmt: skip
        c.execute(text("INSERT INTO rounds (id, program_id, slot, status, created_at) "
                       "VALUES (1, 1, :at, 'closed', :at)"), {"at": AT})  # fmt: skip
        c.execute(text("INSERT INTO groups (id, round_id, position, delivery, outcome, responders) "
                       "VALUES (1, 1, 0, 'posted', 'met', '[\"U1\"]')"))  # fmt: skip
        c.execute(text("INSERT INTO group_members (group_id, user_id) VALUES (1, 'U1'), (1, 'U2')"))
        c.execute(text("INSERT INTO unmatched_members (round_id, user_id, reason, notified) "
                       "VALUES (1, 'U3', 'odd one out', :n)"), {"n": False})  # fmt: skip


def _history(url: str) -> dict[str, list]:
    with engine_for(url).connect() as c:
        return {
            "programs": c.execute(text("SELECT id, channel_id FROM programs")).all(),
            "participations": c.execute(text("SELECT user_id, opted_out FROM participations")).all(),
            "rounds": c.execute(text("SELECT id, status FROM rounds")).all(),
            "groups": c.execute(text("SELECT id, outcome FROM groups")).all(),
            "group_members": c.execute(
                text("SELECT group_id, user_id FROM group_members ORDER BY user_id")
            ).all(),
            "unmatched_members": c.execute(text("SELECT user_id FROM unmatched_members")).all(),
        }


@pytest.mark.parametrize("start", ["0001", "0003_delivery", "0010_reporting_lines"])
def test_upgrading_keeps_every_round_group_and_choice(database_url, start):
    """An install of an older version upgraded: the history that keeps pairs apart, and who
    opted out, survive. On SQLite, Alembic copies a changed table and drops the old one,
    which with foreign keys on deleted every row referring to it."""
    from bot.storage.db import migrate

    _to(database_url, start)
    _a_season_of_lunches(database_url)
    before = _history(database_url)
    assert all(before[table] for table in HISTORY)
    assert migrate(database_url)
    assert _history(database_url) == before
    with engine_for(database_url).connect() as c:  # and foreign keys hold again afterwards
        if c.dialect.name == "sqlite":
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_going_back_a_revision_keeps_the_history(database_url):
    from bot.storage.db import migrate

    migrate(database_url)
    _a_season_of_lunches(database_url)
    before = _history(database_url)
    _to(database_url, "0011_after_lunch", down=True)
    assert _history(database_url) == before



def test_the_revisions_read_without_alembic_are_alembics_own():
    """Commands read the schema's revision and the newest one without importing Alembic (a
    tenth of their start); what they read is the chain Alembic itself would upgrade along."""
    from alembic.script import ScriptDirectory

    from bot.storage.db import MIGRATIONS, _revisions

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert head_revision() == scripts.get_current_head()
    assert _revisions() == {s.revision: s.down_revision for s in scripts.walk_revisions()}


def test_a_database_with_two_revisions_is_one_line_and_left_as_it_is(migrated_url, tmp_path):
    """The revision is read without Alembic; a version table with two rows (two lines of
    upgrades) is refused in one line, as Alembic refused it, and nothing is written."""
    with engine_for(migrated_url).begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0099_side')"))
    result = run_cli("migrate", env=app_env(DATABASE_URL=migrated_url), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert "several schema revisions" in line and "0099_side" in line and head_revision() in line
    with engine_for(migrated_url).connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 2
