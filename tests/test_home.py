"""The App Home tab: what it shows, that Slack would accept it, and that its buttons work."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from conftest import IDLE_CUT, idle_cut
from slack_sdk.models.views import View
from sqlalchemy import select
from test_meet_harness import add_group, make_program, open_harness, snapshot

from bot.edge import home
from bot.storage.models import Member, Participation, Program, Round


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def open_home(h, user: str, team: str = "T1") -> dict:
    h.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}, team=team)
    view = h.slack.home_view(team, user)
    assert view is not None, "no Home tab was published"
    return view


def text_of(view: dict) -> str:
    out = []
    for block in view["blocks"]:
        for part in [block.get("text")] + block.get("elements", []):
            if isinstance(part, dict):
                out.append(part.get("text") if isinstance(part.get("text"), str) else "")
                if isinstance(part.get("text"), dict):
                    out.append(part["text"].get("text", ""))
    return "\n".join(out)


def buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in view["blocks"]
        for e in (b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}])
        if e.get("type") == "button"
    ]


def valid(view: dict) -> None:
    """Slack's own limits, checked by slack_sdk's models."""
    View(type="home", blocks=view["blocks"]).to_dict()
    assert len(view["blocks"]) <= 100


def participation(h, program_id: int, user: str):
    with h.session() as session:
        return session.scalar(
            select(Participation).where(
                Participation.program_id == program_id, Participation.user_id == user
            )
        )


def test_a_person_sees_programs_next_round_group_and_history_no_admin_section(harness):
    c1 = make_program(harness.settings, "C1")
    add_group(harness.settings, c1, ["U1", "U3"], days_ago=40, outcome="met", closed=True)
    add_group(harness.settings, c1, ["U1", "U2"], days_ago=2)
    view = open_home(harness, "U1")
    valid(view)
    text = text_of(view)
    assert "*<#C1>*: every Monday at 12:00 America/New_York" in text
    assert "Next round: Monday" in text and "(Europe/Berlin)" in text
    assert "This round you're with <@U2>: no answer yet." in text
    assert "Your recent lunch groups" in text and "<@U3>, you met ✅" in text
    assert "Programs (admins)" not in text
    assert buttons(view) == [(home.PAUSE, str(c1)), (home.LEAVE, str(c1))]


def test_an_admin_also_sees_every_program_with_settings_and_run_now(harness):
    c1 = make_program(harness.settings, "C1")
    c2 = make_program(harness.settings, "C2", enabled=False, group_size=3)
    add_group(harness.settings, c1, ["U1", "U2"], days_ago=10, outcome="met", closed=True)
    add_group(harness.settings, c1, ["U3", "U4"], days_ago=10, closed=True)
    view = open_home(harness, "UADMIN")
    valid(view)
    text = text_of(view)
    assert "Programs (admins)" in text
    assert "pairs; next round Monday" in text and "1 round · meet rate 50%" in text
    assert "5 taking part" in text  # UADMIN and U1-U4: no bot, no guest
    assert "*<#C2>*: every Monday at 12:00 America/New_York, groups of 3; *switched off*" in text
    assert (home.SETTINGS, str(c1)) in buttons(view) and (home.RUN_NOW, str(c1)) in buttons(view)
    assert (home.SETTINGS, str(c2)) in buttons(view) and (home.RUN_NOW, str(c2)) not in buttons(
        view
    )


def test_the_messages_tab_publishes_nothing(harness):
    make_program(harness.settings, "C1")
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"})
    assert harness.slack.home_view("T1", "U1") is None


def test_a_person_in_no_program_is_told_how_to_start(harness):
    text = text_of(open_home(harness, "U6"))
    assert "You're not in any channel with lunch pairing" in text


def test_pause_resume_leave_join_buttons_do_what_they_say_and_refresh(harness):
    c1 = make_program(harness.settings, "C1")
    open_home(harness, "U1")

    harness.click(home.PAUSE, str(c1), user="U1", from_home=True)
    assert participation(harness, c1, "U1").paused_until >= dt.date.today() + dt.timedelta(days=13)
    view = harness.slack.home_view("T1", "U1")
    assert "Paused in <#C1> through" in text_of(view) and buttons(view) == [(home.RESUME, str(c1))]

    harness.click(home.RESUME, str(c1), user="U1", from_home=True)
    assert participation(harness, c1, "U1").paused_until is None
    assert "You're back in <#C1>" in text_of(harness.slack.home_view("T1", "U1"))

    harness.click(home.LEAVE, str(c1), user="U1", from_home=True)
    assert participation(harness, c1, "U1").opted_out
    view = harness.slack.home_view("T1", "U1")
    assert "You're not taking part." in text_of(view) and buttons(view) == [(home.JOIN, str(c1))]

    harness.click(home.JOIN, str(c1), user="U1", from_home=True)
    assert not participation(harness, c1, "U1").opted_out
    valid(harness.slack.home_view("T1", "U1"))


def test_resume_everywhere_button(harness):
    make_program(harness.settings, "C1")
    harness.command("pause 2 weeks", user="U1", channel="D1")
    view = open_home(harness, "U1")
    assert (home.RESUME, "all") in buttons(view)
    harness.click(home.RESUME, "all", user="U1", from_home=True)
    with harness.session() as session:
        person = session.scalar(select(Member).where(Member.user_id == "U1"))
    assert person.paused_until is None
    assert (home.RESUME, "all") not in buttons(harness.slack.home_view("T1", "U1"))


def test_admin_buttons_open_settings_and_run_a_round(harness):
    c1 = make_program(harness.settings, "C1")
    harness.slack.add_member("T1", "C1", "UBOT")
    open_home(harness, "UADMIN")
    harness.click(home.SETTINGS, str(c1), user="UADMIN", from_home=True)
    modal = harness.slack.calls("views.open")[-1].args["view"]
    assert modal["callback_id"] == home.SETTINGS_CALLBACK

    harness.click(home.RUN_NOW, str(c1), user="UADMIN", from_home=True)
    with harness.session() as session:
        assert session.scalar(select(Round).where(Round.program_id == c1)) is not None
    assert "Round in <#C1> done: 2 groups" in text_of(harness.slack.home_view("T1", "UADMIN"))


def test_admin_buttons_refuse_others_and_change_nothing(harness):
    c1 = make_program(harness.settings, "C1")
    before = snapshot(harness.settings)
    harness.click(home.RUN_NOW, str(c1), user="U1", from_home=True)
    harness.click(home.SETTINGS, str(c1), user="U1", from_home=True)
    assert harness.slack.calls("views.open") == []
    assert "only workspace admins" in text_of(harness.slack.home_view("T1", "U1"))
    assert snapshot(harness.settings) == before


def test_buttons_for_a_program_that_is_not_there_do_nothing(harness):
    make_program(harness.settings, "C1")
    before = snapshot(harness.settings)
    for action in (home.PAUSE, home.LEAVE, home.JOIN, home.RESUME):
        harness.click(action, "999", user="U1", from_home=True)
        harness.click(action, "not-a-number", user="U1", from_home=True)
    assert snapshot(harness.settings) == before


def test_a_huge_workspace_still_fits_slacks_limits():
    """Many programs, long names and long history: the view is cut, never refused."""
    data = home.HomeData(
        user_id="U1",
        notice="x" * 5000,
        paused_everywhere_until=dt.date(2030, 1, 1),
        programs=[
            home.MyProgram(i, f"C{i}", "every Monday " * 50, "soon", True, None, ["U2"] * 40, "met")
            for i in range(40)
        ],
        history=[
            home.PastGroup(f"C{i}", dt.date(2029, 1, 1), ["U3"] * 30, None) for i in range(40)
        ],
        admin=[
            home.AdminProgram(i, f"C{i}", True, "every Monday", 2, 10, 3, "50%", "soon")
            for i in range(60)
        ],
    )
    view = home.home_view(data).to_dict()
    assert len(view["blocks"]) <= 100
    View(**view).to_dict()


def test_the_settings_modal_for_every_choice_is_valid():
    for size in range(2, 9):
        for options in (frozenset(), frozenset(home.OPTION_LABELS)):
            for checkin in range(1, 7):
                form = home.SettingsForm(
                    1, "x" * 200, "monthly", 6, "23:59", "Pacific/Chatham", size, options,
                    "https://x", checkin,
                )
                view = View(**home.settings_modal(form).to_dict()).to_dict()
                (block,) = [b for b in view["blocks"] if b.get("block_id") == "checkin"]
                assert block["element"]["initial_option"]["value"] == str(checkin)


def test_program_ids_from_another_workspace_are_ignored(harness):
    with harness.session() as session:
        other = Program(team_id="T2", channel_id="C1", timezone="UTC")
        session.add(other)
        session.flush()
        other_id = other.id
    before = snapshot(harness.settings)
    harness.click(home.LEAVE, str(other_id), user="U1", from_home=True)
    harness.click(home.RUN_NOW, str(other_id), user="UADMIN", from_home=True)
    assert snapshot(harness.settings) == before


def test_a_stale_take_part_button_says_where_it_leaves_you(harness):
    """A Home tab drawn before its person left the channel, or before the program was
    switched off, still had "Take part again": it answered "Welcome back! You'll be in the
    next lunch round" although no round would group them."""
    c1 = make_program(harness.settings, "C1")
    harness.command("leave", user="U2", channel="C1")
    harness.slack.remove_member("T1", "C1", "U2")
    harness.event({"type": "member_left_channel", "user": "U2", "channel": "C1"})
    harness.click(home.JOIN, str(c1), user="U2", from_home=True)
    seen = text_of(harness.slack.home_view("T1", "U2"))
    assert "not in that channel any more: join it" in seen and "Welcome back" not in seen

    harness.command("leave", user="U3", channel="C1")
    harness.command("disable", user="UADMIN", channel="C1")
    harness.click(home.JOIN, str(c1), user="U3", from_home=True)
    assert "switched off for now" in text_of(harness.slack.home_view("T1", "U3"))
    harness.click(home.PAUSE, str(c1), user="U4", from_home=True)
    assert "switched off for now" in text_of(harness.slack.home_view("T1", "U4"))
    harness.command("enable", user="UADMIN", channel="C1")
    harness.click(home.JOIN, str(c1), user="U3", from_home=True)
    seen = text_of(harness.slack.home_view("T1", "U3"))
    assert "You'll be in the next lunch round" in seen and "switched off" not in seen


def lunch_time_shown(view: dict) -> str:
    (picker,) = [e for b in view["blocks"] if b["type"] == "actions"
                 for e in b["elements"] if e.get("action_id") == home.LUNCH_TIME]  # fmt: skip
    return picker["initial_time"]


def test_the_lunch_time_offered_is_that_of_a_program_the_person_is_in(harness):
    """With no lunch time of their own, the time picker showed the time of the workspace's
    first program, even one switched off or in a channel they are not in."""
    make_program(harness.settings, "C1", time_of_day="11:15", enabled=False)
    make_program(harness.settings, "G1", time_of_day="09:45")  # U1 and UADMIN only
    make_program(harness.settings, "C2", time_of_day="13:30")  # UADMIN, U1, U5
    assert lunch_time_shown(open_home(harness, "U5")) == "13:30"  # in C2 only
    assert lunch_time_shown(open_home(harness, "U2")) == "12:00"  # only in C1, switched off
    harness.command("leave", user="U1", channel="G1")
    assert lunch_time_shown(open_home(harness, "U1")) == "13:30"  # left G1; C1 is off
    harness.command("lunchtime 12:45", user="U1", channel="D1")
    assert lunch_time_shown(open_home(harness, "U1")) == "12:45"  # their own, whatever else


def test_next_round_for_someone_slack_gives_no_zone_is_in_the_programs_zone(harness):
    """Slack has no time zone for some people: their Home tab and /meet status gave the
    next round in UTC ("17:00 (UTC)" for a lunch at noon in New York)."""
    harness.slack.add_user("T1", "UNOZONE", tz=None, is_admin=True)
    harness.slack.add_member("T1", "C1", "UNOZONE")
    make_program(harness.settings, "C1")  # Monday 12:00 America/New_York
    text = text_of(open_home(harness, "UNOZONE"))
    assert "Next round: Monday" in text and "12:00 (America/New_York)." in text
    assert "next round Monday" in text and "12:00 (America/New_York)\n" in text  # as admin
    status = harness.command("status", user="UNOZONE", channel="C1").text
    assert "Next round: Monday" in status and "12:00 (America/New_York)." in status
    for seen in (text, status):
        assert "(UTC)" not in seen


@pytest.mark.postgres
def test_admin_buttons_keep_no_transaction_open_while_slack_answers(slack, settings):
    """PostgreSQL ends a session left idle inside a transaction once its
    idle_in_transaction_session_timeout passes (managed databases set one): checking that
    the clicker is a workspace admin asked Slack inside the transaction, and the button did
    nothing. Slack answers here after that timeout."""
    assert settings.database_url.startswith("postgresql")
    strict = dataclasses.replace(settings, database_url=idle_cut(settings.database_url))
    with contextlib.contextmanager(open_harness)(slack, strict) as h:
        c1 = make_program(strict, "C1")
        slack.slow_next("users.info", IDLE_CUT + 0.5, count=3)  # who clicked: an admin?
        h.click(home.SETTINGS, str(c1), user="UADMIN", from_home=True)
        modal = slack.calls("views.open")[-1].args["view"]
        assert modal["callback_id"] == home.SETTINGS_CALLBACK
