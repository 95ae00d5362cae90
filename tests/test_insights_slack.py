"""The charts in Slack: `/meet stats` and the Home tab's "Send me the charts" upload them into
the admin's DM with Slack's current upload flow, which the simulated Slack checks step by
step (announced length, uploaded bytes, files:write)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest
from conftest import app_env, run_cli
from freezegun import freeze_time
from test_meet_harness import make_program, open_harness

from bot.domain.services import rounds
from bot.edge import home
from bot.storage.models import Group, Round


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def program(harness, slack, settings):
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1")
    with freeze_time(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    slack.reset_calls()
    return program_id


def charts_in_dm(slack, user: str) -> list:
    return slack.files(slack.conversation_id("T1", [user]))


def test_meet_stats_answers_with_numbers_then_sends_the_charts_to_the_admin(harness, slack, program):
    result = harness.command("stats", user="UADMIN", channel="C1")
    numbers, sent = (r["text"] for r in result.responses)
    assert "Lunch pairing so far" in numbers and "The charts are in your DM" in sent
    files = charts_in_dm(slack, "UADMIN")
    assert [f.filename for f in files] == ["rounds.png", "reach.png", "levels.png",
                                           "departments.png"]  # fmt: skip
    assert all(f.data.startswith(b"\x89PNG") and len(f.data) > 5_000 for f in files)
    assert "Lunch pairing in <#C1>: 1 round, meet rate 0%" in files[0].initial_comment
    assert len(slack.calls("files.getUploadURLExternal")) == 4
    assert len(slack.calls("files.completeUploadExternal")) == 1


def test_one_round_of_one_group_is_said_in_the_singular(harness, slack, settings, tmp_path):
    """A pair's first lunch: the Home tab said the round was "done: 1 groups", /meet stats
    "1 rounds, 1 groups, … 1 groups met", the charts "1 rounds" and "median 1 colleagues met
    per person", and `python -m bot stats` "1 rounds, … 1 groups"."""
    slack.add_channel("T1", "C9", "pair", members=["U1", "U2", "UBOT"])
    program_id = make_program(settings, "C9")
    harness.click(home.RUN_NOW, str(program_id), user="UADMIN", from_home=True)
    assert "Round in <#C9> done: 1 group, 1 introduced." in json.dumps(
        slack.home_view("T1", "UADMIN"))
    with harness.session() as session:
        (group,) = session.query(Group).join(Round).filter(Round.program_id == program_id)
        group_id = group.id
    rounds.record_checkin(settings, "T1", group_id, "U1", "met")

    numbers = harness.command("stats", user="UADMIN", channel="C9").responses[0]["text"]
    assert ("<#C9>: 1 round, 1 group, 2 people paired, 0 scheduled, 1 group met (meet rate "
            "100%)") in numbers  # fmt: skip
    comment = charts_in_dm(slack, "UADMIN")[0].initial_comment
    assert ("Lunch pairing in <#C9>: 1 round, meet rate 100%, median 1 colleague met per "
            "person,") in comment  # fmt: skip
    env = app_env(SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s",
                  SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url)  # fmt: skip
    done = run_cli("stats", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("T1 C9: 1 round, 2 people paired, 1 group, 0 scheduled, 1 met (100% meet rate), "
            "0 not delivered, 0 not answering lately") in done.stdout  # fmt: skip


def test_the_home_tab_button_sends_the_charts_to_admins_only(harness, slack, program):
    harness.click(home.SEND_CHARTS, "all", user="UADMIN", from_home=True)
    assert len(charts_in_dm(slack, "UADMIN")) == 4
    assert "The charts are in your DM" in json.dumps(slack.home_view("T1", "UADMIN"))
    harness.click(home.SEND_CHARTS, "all", user="U1", from_home=True)
    assert "only workspace admins" in json.dumps(slack.home_view("T1", "U1"))
    assert len(slack.files()) == 4  # still only the admin's four


def test_an_install_without_files_write_is_told_to_reinstall(harness, slack, program):
    slack.withdraw_scopes("T1", "files:write")
    result = harness.command("stats", user="UADMIN", channel="C1")
    assert "missing_scope" in result.responses[-1]["text"]
    assert "reinstall the app so it gets the files:write permission" in result.responses[-1]["text"]
    assert slack.files() == []


def test_the_simulated_upload_checks_the_announced_length_and_the_file(slack):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token="xoxb-T1", base_url=slack.api_url)
    ticket = client.files_getUploadURLExternal(filename="a.png", length=3)
    request = urllib.request.Request(ticket["upload_url"], data=b"four", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    with pytest.raises(SlackApiError) as error:  # nothing arrived for it
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "a"}])
    assert error.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as error:
        client.files_getUploadURLExternal(filename="a.png", length=0)
    assert error.value.response["error"] == "invalid_arguments"
