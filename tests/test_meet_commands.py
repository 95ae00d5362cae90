"""/meet for everyone, dispatched through Bolt with signed requests against the Slack double."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from conftest import IDLE_CUT, idle_cut
from sqlalchemy import select
from test_meet_harness import add_group, make_program, open_harness, row_counts, snapshot

from bot.edge import home
from bot.storage.models import (
    Admin,
    Group,
    GroupMember,
    Member,
    Participation,
    UnmatchedMember,
    utcnow,
)


def berlin_today() -> dt.date:
    return utcnow().astimezone(ZoneInfo("Europe/Berlin")).date()


def participation(h, program_id: int, user: str) -> Participation | None:
    with h.session() as session:
        return session.scalar(
            select(Participation).where(
                Participation.program_id == program_id, Participation.user_id == user
            )
        )


def member(h, user: str, team: str = "T1") -> Member | None:
    with h.session() as session:
        return session.scalar(select(Member).where(Member.team_id == team, Member.user_id == user))


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def lunch(harness):
    """Programs in #lunch (C1) and #random (C2), set up (members counted) before the test."""
    programs = make_program(harness.settings, "C1"), make_program(harness.settings, "C2")
    harness.slack.reset_calls()
    return programs


# -- help and malformed commands ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
def test_help(harness, text):
    before = row_counts(harness.settings)
    result = harness.command(text)
    assert result.status == 200
    assert "/meet status" in result.ack_text and "/meet forget-me" in result.ack_text
    assert row_counts(harness.settings) == before


@pytest.mark.parametrize(
    "text, says, usage",
    [
        ("dance", "I don't know `/meet dance`", "/meet help"),
        ("payload", "I don't know `/meet payload`", "/meet help"),  # Bolt's word for a form
        ("join please", "takes nothing after it", "/meet join"),
        ("pause", "Say for how long", "/meet pause"),
        ("pause until 2001-01-01", "in the past", "/meet pause"),
        ("level 0", "is not a level", "/meet level &lt;1-9&gt;"),
        ("level 12", "is not a level", "/meet level &lt;1-9&gt;"),
        ("schedule weekly mon 12:00 Atlantis/Capital", "not a time zone", "/meet schedule"),
        ("size 9", "not a group size", "/meet size"),
        ("x" * 4000, "I don't know", "/meet help"),
        ("ünïcödé 🍜 <!channel>", "I don't know", "/meet help"),
    ],
)
def test_malformed_commands_are_answered_at_once_and_store_nothing(
    harness, lunch, text, says, usage
):
    before = snapshot(harness.settings)
    result = harness.command(text, user="UADMIN")
    assert result.status == 200
    assert says in result.ack_text and f"Try: `{usage}" in result.ack_text
    assert result.responses == []  # nothing else happened after the acknowledgement
    assert "<!channel>" not in result.ack_text
    assert snapshot(harness.settings) == before
    assert harness.slack.calls() == [c for c in harness.slack.calls() if c.method == "auth.test"]


# -- join and leave -----------------------------------------------------------------------------


def test_leave_and_join_in_a_program_channel(harness, lunch):
    c1, _ = lunch
    result = harness.command("leave", user="U1", channel="C1")
    assert "no more lunch groups for you in <#C1>" in result.text
    assert participation(harness, c1, "U1").opted_out
    assert "already not taking part" in harness.command("leave", user="U1").text

    result = harness.command("join", user="U1", channel="C1")
    assert "Welcome back" in result.text
    assert not participation(harness, c1, "U1").opted_out
    assert "already taking part" in harness.command("join", user="U1").text
    assert result.responses[0]["response_type"] == "ephemeral"


@pytest.mark.parametrize("command", ["join", "leave"])
def test_join_or_leave_outside_a_program_lists_the_persons_program_channels(
    harness, lunch, command
):
    before = snapshot(harness.settings)
    result = harness.command(command, user="U1", channel="D0001")
    assert f"Run `/meet {command}` in the channel" in result.text
    assert "<#C1>" in result.text and "<#C2>" in result.text
    # U5 is only in #random; U6 in no program channel at all
    assert "<#C1>" not in harness.command(command, user="U5", channel="D0002").text
    assert (
        "not in any channel that has it" in harness.command(command, user="U6", channel="D3").text
    )
    # a channel without a program behaves the same
    harness.slack.add_channel("T1", "C9", "quiet", members=["U1"])
    assert "<#C2>" in harness.command(command, user="U1", channel="C9").text
    assert snapshot(harness.settings) == before


# -- pause and resume ---------------------------------------------------------------------------


def test_pause_in_a_program_channel_pauses_that_program_in_the_persons_time_zone(harness, lunch):
    c1, c2 = lunch
    result = harness.command("pause 2 weeks", user="U1", channel="C1")
    until = berlin_today() + dt.timedelta(weeks=2)
    assert participation(harness, c1, "U1").paused_until == until
    assert participation(harness, c2, "U1") is None
    assert "Paused in <#C1> through" in result.text and str(until.day) in result.text

    result = harness.command("pause until 2099-01-01", user="U1", channel="C1")
    assert "more than a year away" in result.text
    target = berlin_today() + dt.timedelta(days=40)
    harness.command(f"pause until {target.isoformat()}", user="U1", channel="C1")
    assert participation(harness, c1, "U1").paused_until == target


def test_pause_elsewhere_pauses_everything_and_resume_lifts_it(harness, lunch):
    c1, _ = lunch
    result = harness.command("pause 1 week", user="U1", channel="D0001")
    assert "in all your programs" in result.text
    assert member(harness, "U1").paused_until == berlin_today() + dt.timedelta(weeks=1)

    # resuming one channel leaves the everywhere-pause in place, and says so
    harness.command("pause 3 weeks", user="U1", channel="C1")
    result = harness.command("resume", user="U1", channel="C1")
    assert (
        "You're back in <#C1>" in result.text and "still paused in all your programs" in result.text
    )
    assert participation(harness, c1, "U1").paused_until is None
    assert member(harness, "U1").paused_until is not None

    result = harness.command("resume", user="U1", channel="D0001")
    assert "You're back everywhere" in result.text
    assert member(harness, "U1").paused_until is None
    assert "weren't paused" in harness.command("resume", user="U1", channel="D0001").text


# -- status and history -------------------------------------------------------------------------


def test_status_shows_programs_next_round_in_the_persons_time_zone_group_and_pause(harness, lunch):
    c1, c2 = lunch
    add_group(harness.settings, c1, ["U1", "U2"], outcome="met")
    harness.command("pause 2 weeks", user="U1", channel="C2")
    result = harness.command("status", user="U1", channel="D1")
    text = result.text
    # the program runs Mondays 12:00 New York time; U1 lives in Berlin: 18:00 (or 17:00 near DST)
    assert "every Monday at 12:00 America/New_York" in text
    assert "Monday" in text and ":00 (Europe/Berlin)" in text
    assert "This round you're with <@U2>: you met ✅" in text
    assert "<#C2>" in text and "paused through" in text
    assert "profile for matching is empty" in text

    result = harness.command("status", user="UADMIN", channel="C1")
    assert "12:00 (America/New_York)" in result.text


def test_status_after_leaving_the_channel_no_longer_lists_it(harness, lunch):
    harness.slack.remove_member("T1", "C2", "U1")
    harness.event({"type": "member_left_channel", "user": "U1", "channel": "C2", "team": "T1"})
    text = harness.command("status", user="U1").text
    assert "<#C1>" in text and "<#C2>" not in text


def test_history_is_the_persons_own(harness, lunch):
    c1, _ = lunch
    add_group(harness.settings, c1, ["U1", "U2"], days_ago=20, outcome="met", closed=True)
    add_group(harness.settings, c1, ["U3", "U4"], days_ago=20, closed=True)
    add_group(harness.settings, c1, ["U1", "U3"], days_ago=3)
    text = harness.command("history", user="U1").text
    assert "<@U2>" in text and "you met ✅" in text
    assert "<@U3>" in text and "(this round)" in text
    assert "<@U4>" not in text
    assert "haven't been in a lunch group" in harness.command("history", user="U6").text


# -- profile ------------------------------------------------------------------------------------


def test_people_set_their_own_department_and_location(harness, lunch):
    result = harness.command("department Research &amp; Development", user="U1")
    assert "Research &amp; Development" in result.text  # shown escaped, stored plain
    harness.command("location München   Süd", user="U1")
    person = member(harness, "U1")
    assert person.department == "Research & Development"
    assert person.location == "München Süd"
    assert person.sources == {"department": "self", "location": "self"}
    status = harness.command("status", user="U1").text
    assert "department *Research &amp; Development* (set by you)" in status
    # a form that says "payload" is still a slash command, not an interactive payload
    assert "payload systems" in harness.command("department payload systems", user="U2").text
    assert member(harness, "U2").department == "payload systems"


def test_an_admins_value_wins_and_the_person_is_told(harness, lunch):
    harness.command("department <@U1|u1> Finance", user="UADMIN")
    result = harness.command("department Sales", user="U1")
    assert "matching uses *Finance* (set by an admin), which comes first" in result.text
    assert member(harness, "U1").department == "Finance"


def test_own_level_only_when_the_program_allows_it(harness, lunch):
    c1, _ = lunch
    before = snapshot(harness.settings)
    result = harness.command("level 5", user="U1", channel="C1")
    assert "Levels are set by admins" in result.text
    assert snapshot(harness.settings) == before

    with harness.session() as session:
        from bot.storage.models import Program

        session.get(Program, c1).self_service_levels = True
    result = harness.command("level 5", user="U1", channel="C1")
    assert "your level is now *5*" in result.text and "Only you and admins" in result.text
    assert member(harness, "U1").level == 5
    assert member(harness, "U1").sources["level"] == "self"
    # in a channel whose program does not allow it: refused
    assert "Levels are set by admins" in harness.command("level 6", user="U1", channel="C2").text
    # outside a program channel, any program that allows it is enough
    harness.command("level 7", user="U1", channel="D1")
    assert member(harness, "U1").level == 7


def test_a_persons_own_level_wins_over_their_job_titles_but_not_over_an_admins(harness, lunch):
    from bot.domain.levels import set_value
    from bot.storage.models import Program

    c1, _ = lunch
    with harness.session() as session:
        session.get(Program, c1).self_service_levels = True
        set_value(session, "T1", "U1", "level", 8, "title")  # "VP of Sales", say
    result = harness.command("level 4", user="U1", channel="C1")
    assert "your level is now *4*" in result.text and "job title" not in result.text
    assert (member(harness, "U1").level, member(harness, "U1").sources["level"]) == (4, "self")

    harness.command("level <@U1> 6", user="UADMIN")
    result = harness.command("level 3", user="U1", channel="C1")
    assert "matching uses *6* (set by an admin), which comes first" in result.text
    assert member(harness, "U1").level == 6


def test_levels_are_never_shown_to_anyone_else(harness, lunch):
    c1, _ = lunch
    harness.command("level <@U1> 8", user="UADMIN")
    add_group(harness.settings, c1, ["U1", "U2"])
    for command in ("status", "history"):
        text = harness.command(command, user="U2").text
        assert "level" not in text.replace("(only you and admins see your level)", "")
    assert "level *8* (set by an admin)" in harness.command("status", user="U1").text


# -- forget-me ----------------------------------------------------------------------------------


def test_after_forget_me_no_row_names_the_person_but_the_opt_out_marker(harness, lunch):
    """Every text column of every table an export writes is searched for the person's id:
    only the opt-out markers (and Slack's own member list of a channel they are still in) may
    hold it. Their date votes, the program they set up, the admin they added, a report's
    manager line and, when they installed the app, slack_sdk's installation row kept it,
    while the app told them everything was deleted."""
    from slack_sdk.oauth.installation_store import Installation
    from sqlalchemy import JSON, String

    from bot.common.config import load
    from bot.domain.services.workspaces import installation_store
    from bot.storage.models import LunchVote, Program
    from bot.storage.transfer import tables

    c1, _ = lunch
    oauth = load({"SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": harness.settings.slack_api_url,
                  "DATABASE_URL": harness.settings.database_url, "SLACK_CLIENT_ID": "1.2",
                  "SLACK_CLIENT_SECRET": "secret"})  # fmt: skip
    for team, installer in (("T1", "U1"), ("T2", "U1")):  # the same id in another workspace
        installation_store(oauth).save(Installation(
            app_id="A1", enterprise_id=None, team_id=team, bot_token=f"xoxb-{team}",
            bot_id="B1", bot_user_id="UBOT", user_id=installer, bot_scopes=["chat:write"],
        ))  # fmt: skip
    harness.command("admins add <@U1>", user="UADMIN")
    harness.command("admins add <@U3>", user="U1")
    harness.command("avoid <@U2>", user="U1")
    group_id = add_group(harness.settings, c1, ["U1", "U2"], organiser="U1")
    with harness.session() as session:
        session.add(LunchVote(group_id=group_id, user_id="U1", start=utcnow()))
        session.get(Program, c1).created_by = "U1"
        from bot.domain.levels.sources import set_value

        set_value(session, "T1", "U2", "manager", "U1", "import")  # as HR's file would say

    harness.click(home.FORGET_ME, "confirm", user="U1")
    naming = set()
    with harness.session() as session:
        for table in tables():
            in_t1 = table.c.team_id.is_distinct_from("T2") if "team_id" in table.c else True
            for column in table.columns:
                if isinstance(column.type, String) and session.execute(
                    select(column).where(column == "U1", in_t1).limit(1)
                ).first():
                    naming.add(f"{table.name}.{column.name}")
                if isinstance(column.type, JSON) and any(  # per-source values, responders
                    '"U1"' in json.dumps(value) for value in session.scalars(select(column))
                ):
                    naming.add(f"{table.name}.{column.name}")
    assert naming <= {"participations.user_id", "channel_members.user_id"}, naming
    store = installation_store(oauth)
    assert store.find_bot(enterprise_id=None, team_id="T1").bot_token == "xoxb-T1"  # still works
    assert store.find_installation(enterprise_id=None, team_id="T2").user_id == "U1"


def test_forget_me_asks_first_and_cancel_keeps_everything(harness, lunch):
    harness.command("department Sales", user="U1")
    result = harness.command("forget-me", user="U1")
    actions = [
        e["action_id"]
        for b in result.responses[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert actions == [home.FORGET_ME, home.FORGET_ME_CANCEL]
    assert member(harness, "U1").department == "Sales"

    result = harness.click(home.FORGET_ME_CANCEL, "cancel", user="U1")
    assert "nothing was deleted" in result.text and result.responses[0]["replace_original"]
    assert member(harness, "U1").department == "Sales"


def test_forget_me_deletes_the_person_and_keeps_others_history_right(harness, lunch):
    c1, c2 = lunch
    harness.command("department Sales", user="U1")
    harness.command("pause 1 week", user="U1", channel="C1")
    harness.command("admins add <@U1>", user="UADMIN")
    g1 = add_group(harness.settings, c1, ["U1", "U2"], outcome="met", closed=True, days_ago=30)
    add_group(harness.settings, c1, ["U2", "U3"], closed=True, days_ago=20)
    with harness.session() as session:
        from bot.storage.models import Round

        round_id = session.get(Group, g1).round_id
        session.add(UnmatchedMember(round_id=round_id, user_id="U1", reason="odd one out"))
        # the same person id in another workspace is somebody else, and stays
        session.add(Member(team_id="T9", user_id="U1", values={}, sources={}, department="Ops"))
        assert session.get(Round, round_id)

    result = harness.click(home.FORGET_ME, "confirm", user="U1")
    assert "everything about you is deleted" in result.text
    assert result.responses[0]["replace_original"]

    assert member(harness, "U1") is None
    assert member(harness, "U1", team="T9").department == "Ops"
    with harness.session() as session:
        ids = set(session.scalars(select(GroupMember.user_id)))
        assert "U1" not in ids
        placeholders = {i for i in ids if i.startswith("forgotten-")}
        assert len(placeholders) == 1
        group = session.get(Group, g1)
        assert group.organiser_id in placeholders and group.outcome_by in placeholders
        assert group.responders == list(placeholders)
        assert session.scalar(select(UnmatchedMember.user_id)) in placeholders
        assert session.scalar(select(Admin).where(Admin.user_id == "U1")) is None
        markers = list(session.scalars(select(Participation).where(Participation.user_id == "U1")))
        assert {(m.program_id, m.opted_out, m.paused_until) for m in markers} == {
            (c1, True, None),
            (c2, True, None),
        }
    # U2's history still has the group, without a name for the forgotten person
    text = harness.command("history", user="U2").text
    assert text.count("• ") == 2 and "forgotten-" not in text
    # and U1 is out until they come back
    assert "not taking part" in harness.command("status", user="U1").text


@pytest.mark.postgres
def test_join_and_status_keep_no_transaction_open_while_slack_answers(slack, settings):
    """PostgreSQL ends a session left idle inside a transaction once its
    idle_in_transaction_session_timeout passes (managed databases set one): a command that
    asked Slack who the person is while its transaction was open failed. Slack answers here
    after that timeout."""
    assert settings.database_url.startswith("postgresql")
    strict = dataclasses.replace(settings, database_url=idle_cut(settings.database_url))
    with contextlib.contextmanager(open_harness)(slack, strict) as h:
        make_program(strict, "C1")
        assert "no more lunch groups" in h.command("leave", user="U1").text
        slack.slow_next("users.info", IDLE_CUT + 0.5, count=4)  # who is asking, and their zone
        assert "Welcome back" in h.command("join", user="U1").text
        assert "<#C1>" in h.command("status", user="U1", channel="D1").text
