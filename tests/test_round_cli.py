"""`python -m bot round` and `python -m bot stats` as an operator would run them."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import app_env, interrupt_cli, run_cli

from bot.storage.db import session_scope
from bot.storage.models import Program


@pytest.fixture
def env(slack, settings):
    for user in ("UA", "UB", "UC", "UD"):
        slack.add_user("T1", user, tz="Europe/Madrid")
    slack.add_channel("T1", "C5", "lunch", members=["UA", "UB", "UC", "UD", "UBOT"])
    with session_scope(settings.database_url) as session:
        session.add(Program(team_id="T1", channel_id="C5"))
    return app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url, SLACK_RATE_SCALE="1000",
    )


def test_round_command_runs_a_round_and_stats_export_it(env, slack, tmp_path):
    result = run_cli("round", "C5", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started in C5: 2 groups, 2 delivered, 0 failed" in result.stdout
    again = run_cli("round", "C5", env=env, cwd=tmp_path)
    assert "resumed" in again.stdout and len(slack.calls("chat.postMessage")) == 2

    text = run_cli("stats", env=env, cwd=tmp_path)
    assert "T1 C5: 1 round, 4 people paired, 2 groups, 0 scheduled, 0 met" in text.stdout
    exported = run_cli("stats", "--csv", env=env, cwd=tmp_path)
    (row,) = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert (row["channel_id"], row["rounds"], row["people_paired"], row["groups"]) == (
        "C5", "1", "4", "2",
    )
    assert row["meet_rate"] == "0.000"


def test_round_in_a_channel_without_a_program_says_what_to_do(env, tmp_path):
    result = run_cli("round", "CNOPE", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no program in channel CNOPE: run /meet setup in that channel first"
    )


def test_slack_out_of_reach_is_one_line_before_any_work(env, dropping_slack, slack, tmp_path):
    env = {**env, "SLACK_API_URL": dropping_slack.api_url}

    result = run_cli("round", "C5", env=env, cwd=tmp_path)

    assert result.returncode == 2
    line = result.stderr.strip()  # one line: not slack_sdk's own line for each of the tries
    assert line.startswith(f"error: cannot reach Slack at {dropping_slack.api_url} (Remote end")
    assert line.endswith("): check the network connection, or SLACK_API_URL if you changed it")
    assert "Traceback" not in result.stderr and dropping_slack.attempts == 3
    assert run_cli("stats", env=env, cwd=tmp_path).stdout.count("0 rounds") == 1


def test_slack_lost_during_a_round_is_one_line_and_the_round_resumes(env, dropping_slack, slack,
                                                                      tmp_path):
    # Slack answers the first question (whose workspace the token is), then is lost.
    dropping_slack.answers.append({"ok": True, "team_id": "T1", "user_id": "UBOT"})
    out_of_reach = {**env, "SLACK_API_URL": dropping_slack.api_url}

    result = run_cli("round", "C5", "--team", "T1", env=out_of_reach, cwd=tmp_path)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: round not finished: cannot reach Slack at {dropping_slack.api_url}")
    assert line.endswith("; running this command again resumes the round")
    assert dropping_slack.attempts == 9  # a round's work is patient: eight retries, backed off

    again = run_cli("round", "C5", "--team", "T1", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "C5: 2 groups, 2 delivered, 0 failed" in again.stdout
    assert len(slack.calls("chat.postMessage")) == 2



REFUSED = (
    "Slack refused SLACK_BOT_TOKEN (token_revoked): check the Bot User OAuth Token under "
    "OAuth & Permissions and that the app is installed"
)


@pytest.mark.parametrize(
    ("team", "line"),
    [
        ((), f"error: {REFUSED}"),  # asked first, which workspace the token is
        (("--team", "T1"), f"error: {REFUSED}"),  # asked first, whether T1 is that workspace
    ],
    ids=["bot token's team", "--team"],
)
def test_a_revoked_token_is_one_line_and_nothing_is_sent(env, slack, tmp_path, team, line):
    slack.revoke_token("xoxb-T1")

    result = run_cli("round", "C5", *team, env=env, cwd=tmp_path)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == line
    assert slack.calls("conversations.open") == [] and slack.calls("chat.postMessage") == []
    assert "T1 C5: 0 rounds" in run_cli("stats", env=env, cwd=tmp_path).stdout


@pytest.mark.parametrize("team", [(), ("--team", "T1")])
def test_a_missing_token_is_one_line_and_leaves_no_database_behind(tmp_path, team):
    """Run with no .env: the token is asked for first, not after a new database was made
    (and its upgrade logged) in the working directory; --team does not spare it."""
    result = run_cli("round", "C0123", *team, env=app_env(), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "error: SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from "
        "OAuth & Permissions\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_private_channel_the_app_was_removed_from_says_how_to_mend_it(env, slack, settings,
                                                                       tmp_path):
    slack.add_channel("T1", "G7", "lunch-private", members=["UA", "UB", "UC"], is_private=True)
    with session_scope(settings.database_url) as session:
        session.add(Program(team_id="T1", channel_id="G7"))

    result = run_cli("round", "G7", env=env, cwd=tmp_path)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: round not run: Slack would not say who is in G7 (channel_not_found): invite "
        "the app there with /invite @Worth Knowing, then run this command again"
    )
    assert slack.calls("chat.postMessage") == []

    slack.add_member("T1", "G7", "UBOT")  # as the message says
    again = run_cli("round", "G7", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "G7: 1 group, 1 delivered, 0 failed" in again.stdout


def test_ctrl_c_during_a_round_says_what_stands_and_the_next_run_finishes_it(
    env, slack, tmp_path
):
    """It exited 130 without a word, while some intros were out and others were not."""
    slack.latency = 0.5  # the round is still talking to Slack at the signal
    code, err = interrupt_cli("round", "C5", env=env, cwd=tmp_path,
                              once=lambda: slack.calls("conversations.open"))  # fmt: skip
    assert code == 130
    assert err.strip().splitlines()[-1] == (  # after the log's lines
        "interrupted: the groups are kept and the intros sent so far stay sent; run the same "
        "command again to send the rest (each group gets its intro once)"
    )
    slack.latency = 0
    assert run_cli("round", "C5", env=env, cwd=tmp_path).returncode == 0
    intros = [m for m in slack.messages() if (m.metadata or {}).get("event_type")]
    assert len(intros) == 2 and len({m.channel for m in intros}) == 2
