"""`python -m bot doctor`, run as a real command against the Slack double."""

from __future__ import annotations

import datetime as dt

from conftest import SIGNING_SECRET, app_env, run_cli
from test_meet_harness import make_program

from bot.common.config import BOT_SCOPES
from bot.domain.services import heartbeat
from bot.storage.models import utcnow


def doctor_env(slack, database_url, token="xoxb-T1", **extra):
    return app_env(
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
        **extra,
    )


def test_everything_holds(slack, settings, tmp_path):
    slack.add_user("T1", "U1")
    slack.add_user("T1", "U2")
    slack.add_channel("T1", "C1", "lunch", members=["U1", "U2", "UBOT"])
    make_program(settings, "C1", timezone="Europe/Berlin", weekday=4, time_of_day="12:30")
    heartbeat.record(settings.database_url, utcnow() - dt.timedelta(seconds=20))

    result = run_cli("doctor", env=doctor_env(slack, settings.database_url), cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL" not in out and "Everything holds." in out
    assert "[ok]  Slack token: works in Acme (T1) as @worth_knowing" in out
    assert f"[ok]  Scopes in Acme (T1): all {len(BOT_SCOPES)}" in out
    assert "[ok]  #lunch (C1): bot is a member, 3 members; every Friday at 12:30 Europe/Berlin;" \
        " next round Fri " in out  # fmt: skip
    assert "Europe/Berlin\n" in out.split("#lunch")[1]
    assert "[ok]  Database: at revision" in out and "[ok]  Clock: last ran at" in out
    assert "Slack must reach https://YOUR-HOST/slack/events" in out


def test_each_problem_is_named_with_what_to_do(slack, migrated_url, tmp_path):
    granted = [s for s in BOT_SCOPES if s not in ("mpim:history", "users:read.email")]
    slack.add_team("T9", name="Initech", bot_token="xoxb-T9", scopes=",".join(granted))
    slack.add_user("T9", "U1")
    slack.add_channel("T9", "C1", "lunch", members=["U1"])  # the bot was never invited
    from bot.common.config import load

    settings = load({"DATABASE_URL": migrated_url})
    make_program(settings, "C1", team="T9")
    make_program(settings, "CGONE", team="T9")  # a channel deleted since
    slack.add_app_token("xapp-1-A1-9", team_id="T9")
    env = doctor_env(slack, migrated_url, "xoxb-T9", SLACK_APP_TOKEN="xapp-1-A1-9")

    result = run_cli("doctor", env=env, cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "[FAIL] Scopes in Initech (T9): not granted: mpim:history, users:read.email" in out
    assert "reinstall the app" in out
    assert "[FAIL] #lunch (C1): the bot is not a member" in out
    assert "-> type /invite @Worth Knowing in #lunch" in out
    assert "[FAIL] <#CGONE>: the bot cannot see this channel" in out
    assert "[FAIL] Clock: no clock has ever run" in out and "python -m bot clock" in out
    assert "[ok]  Socket Mode: the app-level token works" in out
    assert "4 problem(s) found." in out
    assert result.stderr == ""

    # a clock that stopped a while ago is named too
    heartbeat.record(migrated_url, utcnow() - dt.timedelta(hours=3))
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert "[FAIL] Clock: last ran at" in result.stdout and "(3 h ago)" in result.stdout


def test_the_clock_is_judged_by_its_own_pace_as_healthz_judges_it(slack, settings, tmp_path):
    """Three missed ticks, at whatever pace the clock was started with: an hourly clock
    last seen 20 minutes ago is fine, a clock ticking every second silent for 30 s is not."""
    env = doctor_env(slack, settings.database_url)
    heartbeat.record(settings.database_url, utcnow() - dt.timedelta(minutes=20), tick_seconds=3600)
    hourly = run_cli("doctor", env=env, cwd=tmp_path)
    assert "[ok]  Clock: last ran at" in hourly.stdout and "(20 min ago)" in hourly.stdout

    heartbeat.record(settings.database_url, utcnow() - dt.timedelta(seconds=30), tick_seconds=1)
    fast = run_cli("doctor", env=env, cwd=tmp_path)
    assert "[FAIL] Clock: last ran at" in fast.stdout
    assert "it ticks every 1 s and missed 3 ticks or more" in fast.stdout
    assert "-> start `python -m bot clock`" in fast.stdout


def test_a_token_slack_refuses_and_an_old_database(slack, database_url, tmp_path):
    from bot.storage.db import engine_for

    engine_for(database_url).connect().close()  # SQLite: an empty file, not a missing one
    slack.revoke_token("xoxb-T1")
    env = doctor_env(slack, database_url, SLACK_APP_TOKEN="xapp-1-A1-unknown")
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] Slack token of the bot token: Slack refused it (token_revoked)" in result.stdout
    assert "-> copy the Bot User OAuth Token" in result.stdout
    assert "[FAIL] Database: at revision none (empty)" in result.stdout
    assert "-> run `python -m bot migrate`" in result.stdout
    assert "[FAIL] Socket Mode: Slack refused SLACK_APP_TOKEN (invalid_auth)" in result.stdout


def test_a_database_that_is_not_there_is_named_and_not_created(slack, tmp_path):
    """Run from another folder than the database's: doctor said "at revision none (empty)",
    naming no file, and left a new empty worthknowing.db behind."""
    env = doctor_env(slack, "")  # the default, sqlite:///worthknowing.db
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"[FAIL] Database: no database at {tmp_path / 'worthknowing.db'}\n"
        "       -> run the command from the folder that holds the database, point DATABASE_URL "
        "at it, or run `python -m bot migrate` to start a new one\n"
    ) in result.stdout
    assert "[ok]  Slack token: works in Acme (T1)" in result.stdout
    assert "Clock" not in result.stdout and "Traceback" not in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == []


def test_a_database_of_a_newer_version_needs_the_newer_app_not_migrate(
    slack, migrated_url, tmp_path
):
    from test_migrations import written_by_a_newer_version

    written_by_a_newer_version(migrated_url)
    result = run_cli("doctor", env=doctor_env(slack, migrated_url), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "[FAIL] Database: written by a newer version of Worth Knowing (revision 0099_future "
        "unknown to this one)\n"
        "       -> upgrade Worth Knowing, or point DATABASE_URL at this version's database\n"
    ) in result.stdout
    assert "migrate" not in result.stdout and "Traceback" not in result.stderr


def test_a_missing_setting_is_one_line_and_exit_2(slack, migrated_url, tmp_path):
    env = app_env(SLACK_API_URL=slack.api_url, DATABASE_URL=migrated_url)
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "SLACK_BOT_TOKEN is not set" in line and result.stdout == ""
    assert slack.calls() == []

    helped = run_cli("doctor", "--help", env=env, cwd=tmp_path)
    assert helped.returncode == 0 and "exit code 0 when everything holds" in helped.stdout.lower()


def test_every_oauth_workspace_is_checked_with_its_own_token(slack, migrated_url, tmp_path):
    import time

    from slack_sdk.oauth.installation_store import Installation

    from bot.common.config import load
    from bot.domain.services.workspaces import installation_store

    slack.add_team("TG", name="Grid Team", bot_token="xoxb-TG", enterprise_id="E1")
    settings = load(
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "DATABASE_URL": migrated_url}
    )
    installation_store(settings).save(
        Installation(app_id="A1", enterprise_id="E1", team_id="TG", team_name="Grid Team",
                     bot_token="xoxb-TG", bot_id="BTG", bot_user_id="UBOT",
                     bot_scopes=",".join(BOT_SCOPES), user_id="U1", installed_at=time.time())
    )  # fmt: skip
    heartbeat.record(migrated_url, utcnow())
    env = app_env(
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=migrated_url,
    )
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ok]  Slack token: works in Grid Team (TG)" in result.stdout
    assert "Program channels in TG: none yet" in result.stdout
    assert "/slack/install" in result.stdout
    assert {c.token for c in slack.calls("auth.test")} == {"xoxb-TG"}


def test_slack_out_of_reach_is_reported_within_a_few_tries(dropping_slack, migrated_url, tmp_path):
    result = run_cli("doctor", env=doctor_env(dropping_slack, migrated_url), cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"[FAIL] Slack: cannot reach Slack at {dropping_slack.api_url} (" in result.stdout
    assert "-> check the network connection, or SLACK_API_URL if you changed it" in result.stdout
    # A person is waiting: auth.test is tried three times, not nine over two minutes.
    assert dropping_slack.attempts == 3
    # the report says it once; slack_sdk's line for each try ("ERROR ... Failed to send a
    # request to Slack API server") would only bury it
    assert result.stderr == ""


def test_a_team_that_is_not_the_tokens_workspace_is_a_problem_not_a_pass(slack, settings, tmp_path):
    """`doctor --team TNOPE` checked the bot token's workspace instead and said all was well."""
    result = run_cli("doctor", "--team", "TNOPE", env=doctor_env(slack, settings.database_url),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1 and "Everything holds" not in result.stdout
    assert "--team TNOPE: SLACK_BOT_TOKEN works in Acme (T1), not there" in result.stdout
    assert "leave --team out, or give --team T1" in result.stdout
    assert "[ok]  Slack token" not in result.stdout
