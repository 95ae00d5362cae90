"""Many workspaces: the OAuth install flow against a running app, tokens per workspace from
the installation store, uninstalling, and no workspace ever seeing another's data."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import SIGNING_SECRET, AppProcess, app_env, run_cli
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select
from test_meet_harness import Harness, add_group, make_program, populate, snapshot

from bot.common.config import load
from bot.domain.services.workspaces import NotInstalled, bot_token_for, installation_store
from bot.edge import home
from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import Member, Participation, Program, Workspace

CLIENT_ID = "111.222"
CLIENT_SECRET = "oauth-client-secret"


def oauth_settings(slack, database_url):
    return load(
        {
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
        }
    )


def install(settings, team_id: str, bot_token: str, installer: str = "UADMIN") -> None:
    installation_store(settings).save(
        Installation(
            app_id="A1",
            enterprise_id=None,
            team_id=team_id,
            team_name=f"Team {team_id}",
            bot_token=bot_token,
            bot_id=f"B{team_id}",
            bot_user_id="UBOT",
            bot_scopes="commands,chat:write",
            user_id=installer,
            installed_at=time.time(),
        )
    )


def get(url: str, path: str, headers: dict | None = None):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode()
    finally:
        connection.close()


# -- the install flow, over HTTP ------------------------------------------------------------------


@pytest.mark.slow
def test_install_flow_against_the_running_app(slack, migrated_url, tmp_path):
    slack.oauth_client_id, slack.oauth_client_secret = CLIENT_ID, CLIENT_SECRET
    env = app_env(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=migrated_url,
    )
    with AppProcess(env, tmp_path, ("--no-clock",)) as app:
        status, headers, _ = get(app.url, "/slack/install")
        assert status == 302
        location = {k.lower(): v for k, v in headers}["location"]
        assert location.startswith("https://slack.com/oauth/v2/authorize?")
        query = parse_qs(urlsplit(location).query)
        assert query["client_id"] == [CLIENT_ID]
        assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "users:read"}
        cookie = next(v for k, v in headers if k.lower() == "set-cookie")
        state = query["state"][0]
        assert f"slack-app-oauth-state={state}" in cookie

        slack.register_oauth_code("code-A", team_id="TA", bot_token="xoxb-TA", team_name="Alpha")
        # without the browser's state cookie the callback is refused and nothing is stored
        status, _, _ = get(app.url, f"/slack/oauth_redirect?code=code-A&state={state}")
        assert status >= 400
        cookie_header = {"Cookie": f"slack-app-oauth-state={state}"}
        status, _, body = get(
            app.url, f"/slack/oauth_redirect?code=code-A&state={state}", cookie_header
        )
        assert status == 200, body
        assert [c.args.get("code") for c in slack.calls("oauth.v2.access")] == ["code-A"]

        settings = oauth_settings(slack, migrated_url)
        assert bot_token_for(settings, "TA") == "xoxb-TA"
        from bot.storage.db import session_scope

        with session_scope(migrated_url) as session:
            workspace = session.get(Workspace, "TA")
            assert workspace.active and workspace.name == "Alpha"

        # a state is good once
        status, _, _ = get(
            app.url, f"/slack/oauth_redirect?code=code-A&state={state}", cookie_header
        )
        assert status >= 400

        # the new workspace's requests are authorized with its own token
        populate(slack, "TA")
        body, headers = signing.slash_command(
            SIGNING_SECRET, "status", user_id="U1", channel_id="C1", team_id="TA",
            response_url=slack.new_response_url(),
        )  # fmt: skip
        status, _, _ = signing.post(app.url + "/slack/events", body, headers)
        assert status == 200
        deadline = time.monotonic() + 10
        while not slack.responses() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "not in any channel with lunch pairing" in slack.responses()[0]["text"]
        assert {c.token for c in slack.calls("users.info")} == {"xoxb-TA"}


# -- two workspaces, in-process -----------------------------------------------------------------


@pytest.fixture
def two(slack, migrated_url):
    """Workspaces T1 and T2, both installed, with the same channel and user ids."""
    slack.add_team("T2", name="Globex", bot_token="xoxb-T2")
    populate(slack, "T1")
    populate(slack, "T2")
    settings = oauth_settings(slack, migrated_url)
    install(settings, "T1", "xoxb-T1")
    install(settings, "T2", "xoxb-T2")
    h = Harness(slack, settings)
    try:
        yield h
    finally:
        h.close()


def test_a_workspace_never_sees_or_changes_anothers_data(two):
    h = two
    a = make_program(h.settings, "C1", team="T1")
    add_group(h.settings, a, ["U1", "U2"], outcome="met", closed=True, days_ago=30)
    h.command("department Sales", user="U1", team="T1")
    before = snapshot(h.settings)

    # people in T2 with the very same ids see nothing of T1
    status = h.command("status", user="U1", channel="C1", team="T2").text
    assert "not in any channel with lunch pairing" in status and "Sales" not in status
    assert "haven't been in a lunch group" in h.command("history", user="U1", team="T2").text
    assert "no lunch pairing in this conversation" in h.command("leave", user="U1", team="T2").text
    for text in ("disable", "size 5", "schedule weekly fri 09:00", "now"):
        assert (
            "no lunch pairing in this channel yet" in h.command(text, user="UADMIN", team="T2").text
        )
    assert "No programs yet" in h.command("stats", user="UADMIN", channel="D1", team="T2").text
    # T1's program id, used from T2, reaches nothing
    h.click(home.SETTINGS, str(a), user="UADMIN", team="T2", from_home=True)
    h.click(home.RUN_NOW, str(a), user="UADMIN", team="T2", from_home=True)
    h.click(home.LEAVE, str(a), user="U1", team="T2", from_home=True)
    status_code, ack = h.submit(
        home.SETTINGS_CALLBACK, {}, json.dumps({"program": a}), user="UADMIN", team="T2"
    )
    assert status_code == 200 and ack["response_action"] == "errors"
    assert h.slack.calls("views.open") == []
    assert snapshot(h.settings) == before
    home_t2 = json.dumps(h.slack.home_view("T2", "UADMIN"))
    assert "<#C1>" not in home_t2 and "meet rate" not in home_t2

    # T2 starts its own program in its own C1; T1's is untouched
    h.command("setup", user="UADMIN", channel="C1", team="T2")
    with h.session() as session:
        programs = {p.team_id: p for p in session.scalars(select(Program))}
        assert programs["T1"].id == a and programs["T1"].created_by is None
        assert programs["T2"].id != a
        assert session.scalar(select(Participation)) is None
    # every Slack call for T2 used T2's token
    assert {c.token for c in h.slack.calls() if c.team_id == "T2"} == {"xoxb-T2"}
    assert all(c.team_id == "T1" for c in h.slack.calls() if c.token == "xoxb-T1")


def test_uninstalling_one_workspace_drops_its_tokens_only(two):
    h = two
    h.event({"type": "app_uninstalled"}, team="T2")
    with pytest.raises(NotInstalled):
        bot_token_for(h.settings, "T2")
    assert bot_token_for(h.settings, "T1") == "xoxb-T1"
    with h.session() as session:
        assert not session.get(Workspace, "T2").active
        assert session.get(Workspace, "T1").active
    # reinstalling brings it back
    install(h.settings, "T2", "xoxb-T2-new")
    with h.session() as session:
        assert session.get(Workspace, "T2").active
    assert bot_token_for(h.settings, "T2") == "xoxb-T2-new"


def test_a_round_in_a_workspace_whose_token_was_revoked_says_where_to_reinstall(two, tmp_path):
    h = two
    make_program(h.settings, "C1", team="T2")
    h.slack.revoke_token("xoxb-T2")
    env = app_env(
        SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=h.slack.api_url,
        DATABASE_URL=h.settings.database_url,
    )  # fmt: skip

    result = run_cli("round", "C1", "--team", "T2", env=env, cwd=tmp_path)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: round not finished: Slack refused the token of workspace T2 (token_revoked): "
        "install Worth Knowing there again; running this command again resumes the round"
    )
    assert h.slack.calls("chat.postMessage") == []

    install(h.settings, "T2", "xoxb-T2-new")  # as the message says
    h.slack.add_team("T2", name="Globex", bot_token="xoxb-T2-new")
    populate(h.slack, "T2")
    again = run_cli("round", "C1", "--team", "T2", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "round 1 started in C1" in again.stdout

# -- Enterprise Grid and token rotation ----------------------------------------------------------

GRID_MEMBERS = ["U1", "U2", "U3", "U4"]


def oauth_install(h, code: str, team_id: str, **grant) -> None:
    """Bolt's own OAuth callback, in-process: state cookie, oauth.v2.access on the double,
    the installation saved through the app's store."""
    from slack_bolt.request import BoltRequest

    h.slack.register_oauth_code(code, team_id=team_id, bot_token=f"xoxb-{team_id}", **grant)
    flow = h.app.oauth_flow
    state = flow.issue_new_state(BoltRequest(body=""))
    callback = BoltRequest(
        body="",
        query={"code": code, "state": state},
        headers={"cookie": [f"slack-app-oauth-state={state}"]},
    )
    response = flow.handle_callback(callback)
    assert response.status == 200, response.body


@pytest.fixture
def grid(slack, migrated_url):
    """An OAuth app, not installed anywhere yet, with people and a channel ready in TG."""
    slack.oauth_client_id, slack.oauth_client_secret = CLIENT_ID, CLIENT_SECRET
    h = Harness(slack, oauth_settings(slack, migrated_url))
    try:
        yield h
    finally:
        h.close()


def _people(slack, team: str) -> None:
    for user in GRID_MEMBERS:
        slack.add_user(team, user, tz="Europe/Berlin")
    slack.add_channel(team, "C1", "lunch", members=[*GRID_MEMBERS, "UBOT"])


def _intros(slack, team: str) -> list:
    return [m for m in slack.messages() if m.team_id == team and m.channel.startswith("G")]


def test_a_workspace_of_an_enterprise_grid_org_gets_its_scheduled_rounds(grid):
    from bot.jobs.clock import Clock

    h = grid
    oauth_install(h, "code-G", "TG", enterprise_id="E1", team_name="Grid Team")
    _people(h.slack, "TG")
    with h.session() as session:
        assert session.get(Workspace, "TG").enterprise_id == "E1"
    program = make_program(h.settings, "C1", team="TG", timezone="Europe/Berlin")
    with h.session() as session:
        slot = session.get(Program, program).next_run_at

    report = Clock(h.settings).tick(slot + dt.timedelta(seconds=30))
    assert [p for p, _ in report.started] == [program]
    intros = _intros(h.slack, "TG")
    assert len(intros) == 2  # four people, two pairs
    assert {c.token for c in h.slack.calls() if c.team_id == "TG"} == {"xoxb-TG"}

    # /meet now in the Grid workspace: the request names the org, Bolt finds the token
    h.slack.add_user("TG", "UADMIN", is_admin=True)
    h.command("now", user="UADMIN", channel="C1", team="TG", enterprise_id="E1")
    # the admin is not in C1, so Slack refuses the ephemeral outcome: it comes as a DM
    dm = h.slack.conversation_id("TG", ["UADMIN"])
    outcome = [m.text for m in h.slack.messages(dm) if m.team_id == "TG"]
    assert len(outcome) == 1 and "Round in <#C1> done: 2 groups" in outcome[0]


def test_a_scheduled_round_after_the_token_expired_refreshes_it_first(grid):
    from bot.jobs.clock import Clock

    h = grid
    h.slack.token_lifetime = 12 * 3600
    with freeze_time("2026-02-01 18:00", tick=True) as frozen:
        oauth_install(h, "code-R", "TR", enterprise_id="E2")
        _people(h.slack, "TR")
        first = installation_store(h.settings).find_installation(enterprise_id="E2", team_id="TR")
        assert first.bot_refresh_token and first.bot_token_expires_at
        program = make_program(h.settings, "C1", team="TR", timezone="Europe/Berlin")
        with h.session() as session:
            slot = session.get(Program, program).next_run_at  # Monday 12:00 Berlin
        frozen.move_to(slot + dt.timedelta(seconds=30))  # 17 hours on: the token has expired
        assert h.slack.calls("oauth.v2.access")[-1].args.get("grant_type") is None
        before = len(h.slack.calls())

        report = Clock(h.settings).tick()

    assert [p for p, _ in report.started] == [program]
    assert len(_intros(h.slack, "TR")) == 2
    refresh = [c for c in h.slack.calls("oauth.v2.access") if c.args.get("grant_type")]
    assert [c.args["refresh_token"] for c in refresh] == [first.bot_refresh_token]
    stored = installation_store(h.settings).find_installation(enterprise_id="E2", team_id="TR")
    assert stored.bot_token != first.bot_token
    assert stored.bot_refresh_token != first.bot_refresh_token
    calls = h.slack.calls()[before:]
    assert {c.token for c in calls if c.team_id == "TR"} == {stored.bot_token}
    assert not [c for c in calls if c.error == "token_expired"]



def test_oauth_with_socket_mode_is_refused_in_one_line(migrated_url, tmp_path):
    env = app_env(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_APP_TOKEN="xapp-1-A1-1-secret",
        DATABASE_URL=migrated_url,
    )
    result = run_cli("serve", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "SLACK_APP_TOKEN" in line and "SLACK_CLIENT_ID" in line and "/slack/install" in line


def test_a_refresh_another_process_just_made_is_taken_not_fought(grid):
    """Slack's refresh tokens work once: of two processes refreshing at the same moment, the
    second is refused and uses the token the first one stored."""
    from bot.domain.services import workspaces

    h = grid
    h.slack.token_lifetime = 12 * 3600
    with freeze_time("2026-02-01 18:00", tick=True) as frozen:
        oauth_install(h, "code-S", "TS")
        store = installation_store(h.settings)
        stale = store.find_installation(enterprise_id=None, team_id="TS")
        frozen.tick(11 * 3600)  # inside the last two hours: time to refresh
        first = bot_token_for(h.settings, "TS")  # one process refreshes and stores
        assert first != stale.bot_token
        second = workspaces.fresh_installation(h.settings, store, stale).bot_token  # the other, too late
        assert second == first
        refused = [c.error for c in h.slack.calls("oauth.v2.access") if c.args.get("grant_type")]
        assert refused == [None, "invalid_refresh_token"]
        assert WebClient(token=second, base_url=h.slack.api_url).auth_test()["team_id"] == "TS"


@pytest.mark.slow
def test_with_slack_out_of_reach_requests_and_installs_are_answered_at_once(
    migrated_url, tmp_path, dropping_slack
):
    """Slack's Web API out of reach: a workspace's first request waited two minutes on
    auth.test (eight patient retries) and ended in a 500; the browser coming back from
    Slack's consent page waited as long and got no page at all."""
    settings = load({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                     "SLACK_SIGNING_SECRET": SIGNING_SECRET, "DATABASE_URL": migrated_url,
                     "SLACK_API_URL": dropping_slack.api_url})  # fmt: skip
    install(settings, "TA", "xoxb-TA")
    env = app_env(SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                  SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=dropping_slack.api_url,
                  DATABASE_URL=migrated_url)  # fmt: skip
    with AppProcess(env, tmp_path, ("--no-clock",)) as app:
        event = {"type": "member_left_channel", "user": "U1", "channel": "C1"}  # no call
        body, headers = signing.event_callback(SIGNING_SECRET, event, team_id="TA")
        status, _, _ = signing.post(app.url + "/slack/events", body, headers)
        assert status == 200  # post() gives up after 10 s; eight patient tries took minutes
        assert dropping_slack.attempts <= 3  # two quick retries, not eight patient ones

        _, headers, _ = get(app.url, "/slack/install")
        state = parse_qs(urlsplit({k.lower(): v for k, v in headers}["location"]).query)["state"][0]
        # get() gives up after 10 s; eight patient tries of oauth.v2.access took two minutes
        status, _, page = get(app.url, f"/slack/oauth_redirect?code=c&state={state}",
                              {"Cookie": f"slack-app-oauth-state={state}"})  # fmt: skip
        assert status == 502 and "slack_unreachable" in page and "/slack/install" in page
        log = app.output()
    assert "Traceback" not in log and " 500 " not in log


# -- an org-wide installation (Enterprise Grid) ---------------------------------------------------

ORG = dict(enterprise_id="E1", is_enterprise_install=True)  # as its requests say


def _org_workspace(h, team: str, channel: str) -> list[str]:
    """A workspace of org E1 the org-wide app was added to: an admin sets up a channel of four
    people (ids of its own, so the double knows which workspace the org's token acts in)."""
    people = [f"U{team}{n}" for n in range(1, 5)]
    for user in people:
        h.slack.add_user(team, user, tz="Europe/Berlin")
    h.slack.add_user(team, f"UADMIN{team}", is_admin=True, tz="Europe/Berlin")
    h.slack.add_channel(team, channel, "lunch", members=people)
    setup = h.command("setup", user=f"UADMIN{team}", channel=channel, team=team, **ORG)
    assert f"Lunch pairing is on in <#{channel}>" in setup.responses[0]["text"]
    return people


def _installed_in_two_workspaces(h) -> list[str]:
    """Org E1 installs the app org-wide (one token, "xoxb-TA", named after the workspace the
    install started from) and adds it to TA and TB, where admins set up CA and CB; the
    people of TB."""
    for team in ("TA", "TB"):
        h.slack.add_team(team, f"Team {team}", bot_token=f"xoxb-{team}-own", enterprise_id="E1")
    oauth_install(h, "code-O", "TA", **ORG)
    h.slack.grant_org_access("E1", "TB")
    _org_workspace(h, "TA", "CA")
    return _org_workspace(h, "TB", "CB")


def test_an_org_wide_install_runs_rounds_in_every_workspace_it_was_added_to(
    grid, tmp_path, monkeypatch
):
    from bot.domain.services import participants
    from bot.jobs.clock import Clock

    h = grid
    monkeypatch.setattr(participants, "USERS_LIST_THRESHOLD", 2)  # rounds walk users.list
    people_b = _installed_in_two_workspaces(h)
    with h.session() as session:
        programs = session.scalars(select(Program).order_by(Program.team_id)).all()
        slot = max(p.next_run_at for p in programs)
    assert [p.team_id for p in programs] == ["TA", "TB"]

    report = Clock(h.settings).tick(slot + dt.timedelta(seconds=30))

    assert sorted(p for p, _ in report.started) == sorted(p.id for p in programs)
    assert len(_intros(h.slack, "TA")) == 2 and len(_intros(h.slack, "TB")) == 2
    assert {c.token for c in h.slack.calls() if c.team_id in ("TA", "TB")} == {"xoxb-TA"}
    assert not [c for c in h.slack.calls() if c.error]

    # events through the org-wide installation name the workspace in the outer team_id only
    h.slack.add_user("TB", "UTBNEW", tz="Europe/Berlin")
    h.slack.add_member("TB", "CB", "UTBNEW")
    h.event({"type": "member_joined_channel", "user": "UTBNEW", "channel": "CB"}, team="TB",
            **ORG)  # fmt: skip
    welcome = h.slack.messages(h.slack.conversation_id("TB", ["UTBNEW"]))
    assert len(welcome) == 1 and "<#CB>" in welcome[0].text
    h.event({"type": "app_home_opened", "user": people_b[0], "channel": "D1", "tab": "home"},
            team="TB", **ORG)  # fmt: skip
    assert "<#CB>" in json.dumps(h.slack.home_view("TB", people_b[0]))

    # a click in the Home tab, whose payload names the org and no team
    h.click(home.PAUSE, str(programs[1].id), user=people_b[0], team="TB", from_home=True, **ORG)
    with h.session() as session:
        paused = session.scalars(
            select(Participation).where(Participation.user_id == people_b[0])
        ).one()
        assert paused.paused_until is not None

    # levels from a profile field, mapped and read from the CLI with the org's token
    h.slack.set_profile_fields("TB", [{"id": "Xf1", "label": "Grade", "type": "text"}])
    h.slack.update_user("TB", people_b[1], profile_fields={"Xf1": "L7"})
    env = app_env(
        SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_API_URL=h.slack.api_url,
        DATABASE_URL=h.settings.database_url,
    )  # fmt: skip
    mapped = run_cli("levels", "map", "--team", "TB", "--level-field", "grade", env=env, cwd=tmp_path)
    assert mapped.returncode == 0, mapped.stderr
    synced = run_cli("levels", "sync", "--team", "TB", "--all", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "read 6 profiles of workspace TB: 1 changed" in synced.stdout  # five and the admin
    with h.session() as session:
        level = session.scalar(
            select(Member.level).where(Member.team_id == "TB", Member.user_id == people_b[1])
        )
        assert level == 7

    # doctor checks each workspace with the org's token, which names the org, not them
    from bot.domain.services import heartbeat
    from bot.storage.models import utcnow

    heartbeat.record(h.settings.database_url, utcnow())
    doctor = run_cli("doctor", env={**env, "SLACK_SIGNING_SECRET": SIGNING_SECRET}, cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "works in workspace TB of Enterprise Grid org" in doctor.stdout
    assert "#lunch (CA): bot is a member" in doctor.stdout
    assert "#lunch (CB): bot is a member" in doctor.stdout


def _org_event(h, kind: str, *team_ids: str) -> None:
    """team_access_granted or _revoked, as Slack sends them: about the org, naming no team."""
    h.event({"type": kind, "team_ids": list(team_ids)}, team=None, **ORG)


def test_a_workspace_the_org_wide_app_is_added_to_or_removed_from_starts_or_stops(grid):
    from bot.jobs.clock import Clock

    h = grid
    _installed_in_two_workspaces(h)

    h.slack.revoke_org_access("E1", "TB")
    _org_event(h, "team_access_revoked", "TB")
    with h.session() as session:
        slot = max(session.scalars(select(Program.next_run_at)))
        assert not session.get(Workspace, "TB").active and session.get(Workspace, "TA").active
    report = Clock(h.settings).tick(slot + dt.timedelta(seconds=30))
    with h.session() as session:
        started = {session.get(Program, p).team_id for p, _ in report.started}
    assert started == {"TA"}  # nothing is tried where the token no longer works
    assert not [c for c in h.slack.calls() if c.error]

    # added again, and a workspace never seen before: both known as the org's at once
    h.slack.add_team("TC", "Team TC", bot_token="xoxb-TC-own", enterprise_id="E1")
    h.slack.grant_org_access("E1", "TB", "TC")
    _org_event(h, "team_access_granted", "TB", "TC")
    with h.session() as session:
        rows = {w.team_id: (w.active, w.enterprise_id) for w in session.scalars(select(Workspace))}
    assert rows == {"TA": (True, "E1"), "TB": (True, "E1"), "TC": (True, "E1")}
    assert bot_token_for(h.settings, "TC") == "xoxb-TA"


def test_uninstalling_an_org_wide_install_stops_every_workspace_of_the_org(grid):
    h = grid
    _installed_in_two_workspaces(h)
    h.slack.add_team("TC", "Elsewhere")
    install(h.settings, "TC", "xoxb-TC")  # another customer, untouched

    h.event({"type": "app_uninstalled"}, team="TB", **ORG)  # from TB, about the org

    with h.session() as session:
        active = {w.team_id: w.active for w in session.scalars(select(Workspace))}
    assert active == {"TA": False, "TB": False, "TC": True}
    store = installation_store(h.settings)
    assert store.find_installation(enterprise_id="E1", team_id=None, is_enterprise_install=True) is None
    assert store.find_bot(enterprise_id="E1", team_id=None, is_enterprise_install=True) is None
    with pytest.raises(NotInstalled):
        bot_token_for(h.settings, "TA")
    assert bot_token_for(h.settings, "TC") == "xoxb-TC"

    # installed org-wide again: a workspace goes on once the app is added to it again,
    # not before (saving the installation, as a refreshed token does too, wakes none)
    oauth_install(h, "code-O2", "TA", **ORG)
    with h.session() as session:
        active = {w.team_id: w.active for w in session.scalars(select(Workspace))}
    assert active == {"TA": False, "TB": False, "TC": True}
    _org_event(h, "team_access_granted", "TB")
    with h.session() as session:
        active = {w.team_id: w.active for w in session.scalars(select(Workspace))}
    assert active == {"TA": False, "TB": True, "TC": True}
    assert bot_token_for(h.settings, "TB") == "xoxb-TA"


def test_an_org_wide_token_as_slack_bot_token_serves_the_workspaces_of_its_org(
    slack, migrated_url, tmp_path
):
    """One org-wide installation's token in SLACK_BOT_TOKEN (no OAuth): auth.test names the
    org, so the workspace comes from the request, or --team on the CLI."""
    from bot.jobs.clock import Clock

    for team in ("TA", "TB"):
        slack.add_team(team, f"Team {team}", bot_token=f"xoxb-{team}-own", enterprise_id="E1")
    slack.register_oauth_code("code-O", "TA", "xoxb-org", **ORG)
    WebClient(base_url=slack.api_url).oauth_v2_access(client_id="c", client_secret="s",
                                                      code="code-O")  # fmt: skip
    slack.grant_org_access("E1", "TB")
    values = {"SLACK_BOT_TOKEN": "xoxb-org", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
              "SLACK_API_URL": slack.api_url, "DATABASE_URL": migrated_url}  # fmt: skip
    env = app_env(**values)
    bare = run_cli("levels", "sync", env=env, cwd=tmp_path)
    assert bare.returncode == 2 and "none has used the app yet: type /meet" in bare.stderr

    h = Harness(slack, load(values))
    try:
        _org_workspace(h, "TB", "CB")
    finally:
        h.close()
    synced = run_cli("levels", "sync", "--all", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "read 5 profiles of workspace TB" in synced.stdout
    stray = run_cli("levels", "sync", "--team", "TX", env=env, cwd=tmp_path)
    assert stray.returncode == 2
    assert stray.stderr.strip() == (
        "error: --team TX is not a workspace of Enterprise Grid org E1, where SLACK_BOT_TOKEN "
        "is installed (its workspaces: TB)"
    )

    with session_scope(migrated_url) as session:
        slot = session.scalars(select(Program.next_run_at)).one()
    report = Clock(load(values)).tick(slot + dt.timedelta(seconds=30))
    assert len(report.started) == 1 and len(_intros(slack, "TB")) == 2
