"""/meet for admins: setup, the settings modal, schedule, size, on/off, rounds, stats, admins."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from slack_sdk.models.views import View
from sqlalchemy import select
from test_meet_harness import make_program, open_harness, snapshot

from bot.edge import home
from bot.sandbox.demo import filled_in
from bot.storage.models import Admin, Member, Program, Round, utcnow


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def program_in(h, channel: str, team: str = "T1") -> Program | None:
    with h.session() as session:
        return session.scalar(
            select(Program).where(Program.team_id == team, Program.channel_id == channel)
        )


ADMIN_COMMANDS = [
    "setup",
    "schedule weekly fri 13:00",
    "size 3",
    "disable",
    "enable",
    "now",
    "stats",
    "admins",
    "admins add <@U2>",
    "admins remove <@UADMIN>",
    "level <@U2> 4",
    "department <@U2> Sales",
    "location <@U2> Paris",
]


@pytest.mark.parametrize("text", ADMIN_COMMANDS)
def test_people_who_are_not_admins_are_refused_and_nothing_changes(harness, text):
    make_program(harness.settings, "C1")
    harness.command("admins add <@U3>", user="UADMIN")  # an admin, but not U1
    before = snapshot(harness.settings)
    harness.slack.reset_calls()
    result = harness.command(text, user="U1", channel="C1")
    assert result.status == 200
    assert "only workspace admins and Worth Knowing admins can do that" in result.text
    assert snapshot(harness.settings) == before
    assert {c.method for c in harness.slack.calls()} <= {"users.info"}
    assert harness.slack.messages() == []


@pytest.mark.parametrize("admin", ["UADMIN", "UOWNER", "U3"])
def test_workspace_admins_owners_and_added_admins_may(harness, admin):
    make_program(harness.settings, "C1")
    harness.command("admins add <@U3>", user="UADMIN")
    assert "Rounds in <#C1> now make groups of 3" in harness.command("size 3", user=admin).text
    assert program_in(harness, "C1").group_size == 3


# -- setup --------------------------------------------------------------------------------------


def test_setup_joins_the_channel_starts_a_program_and_offers_settings(harness):
    result = harness.command("setup", user="UADMIN", channel="C1")
    assert [c.args["channel"] for c in harness.slack.calls("conversations.join")] == ["C1"]
    program = program_in(harness, "C1")
    assert program.enabled and program.group_size == 2 and program.cadence == "weekly"
    assert (program.weekday, program.time_of_day) == (0, "12:00")
    assert program.timezone == "America/New_York"  # the admin's own time zone
    assert program.created_by == "UADMIN"
    assert program.next_run_at > utcnow()
    local = program.next_run_at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert local.weekday() == 0

    reply = result.responses[0]
    assert reply["response_type"] == "ephemeral"
    assert "Lunch pairing is on in <#C1>: every Monday at 12:00 America/New_York" in reply["text"]
    assert "First round: Monday" in reply["text"]
    button = reply["blocks"][1]["elements"][0]
    assert (button["action_id"], button["value"]) == (home.SETTINGS, str(program.id))
    # guests and people of other organisations are not promised a place (both off by default)
    assert "Everyone of this workspace in the channel takes part (guests" in reply["text"]
    # the channel hears about it once
    announcements = harness.slack.messages("C1")
    assert (
        len(announcements) == 1 and "Worth Knowing* is on in this channel" in announcements[0].text
    )
    assert "Everyone of this workspace here takes part (guests" in announcements[0].text

    again = harness.command("setup", user="UADMIN", channel="C1")
    assert "already on in <#C1>" in again.text
    assert len(harness.slack.messages("C1")) == 1
    assert len(harness.slack.calls("conversations.join")) == 1  # it is a member now


def test_setup_where_the_bot_cannot_go(harness):
    before = snapshot(harness.settings)
    assert "/invite @Worth Knowing" in harness.command("setup", user="UADMIN", channel="G1").text
    assert "not in a direct message" in harness.command("setup", user="UADMIN", channel="D123").text
    assert snapshot(harness.settings) == before


def test_setup_in_a_private_channel_the_bot_was_invited_to(harness):
    harness.slack.add_member("T1", "G1", "UBOT")
    harness.command("setup", user="UADMIN", channel="G1")
    assert program_in(harness, "G1") is not None
    assert harness.slack.calls("conversations.join") == []


def test_setup_says_when_the_channel_could_not_be_told(harness):
    harness.slack.add_member("T1", "C1", "UBOT")
    harness.slack.fail_next("chat.postMessage", error="restricted_action")  # posting is limited
    reply = harness.command("setup", user="UADMIN", channel="C1").text
    assert reply.startswith("Lunch pairing is on in <#C1>")
    assert reply.endswith("I couldn't tell the channel (Slack said `restricted_action`): let "
                          "people know yourself.")  # fmt: skip
    assert harness.slack.messages("C1") == []


def test_setup_turns_a_switched_off_program_back_on(harness):
    make_program(harness.settings, "C1", enabled=False)
    harness.slack.add_member("T1", "C1", "UBOT")
    # it was off: "already on" would be false
    assert "Lunch pairing is back on in <#C1>" in harness.command("setup", user="UADMIN",
                                                                  channel="C1").text  # fmt: skip
    assert program_in(harness, "C1").enabled
    assert "already on" in harness.command("setup", user="UADMIN", channel="C1").text


# -- the settings modal -------------------------------------------------------------------------


def open_settings(harness, program_id: int, user: str = "UADMIN") -> dict:
    harness.slack.reset_calls()
    harness.click(home.SETTINGS, str(program_id), user=user)
    opened = harness.slack.calls("views.open")
    assert len(opened) == 1
    return opened[0].args["view"]


def form(**overrides) -> dict:
    values = {
        "cadence": {"value": {"type": "static_select", "selected_option": {"value": "biweekly"}}},
        "weekday": {"value": {"type": "static_select", "selected_option": {"value": "thu"}}},
        "time": {"value": {"type": "timepicker", "selected_time": "12:30"}},
        "timezone": {"value": "Europe/Paris"},
        "size": {"value": {"type": "static_select", "selected_option": {"value": "3"}}},
        "checkin": {"value": {"type": "static_select", "selected_option": {"value": "5"}}},
        "touch": {"value": {"type": "static_select", "selected_option": {"value": "8"}}},
        "options": {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "post_summary"}, {"value": "heads_up"}],
            }
        },
    }
    values.update(overrides)
    return values


def test_the_settings_button_opens_a_valid_modal_with_the_programs_settings(harness):
    program_id = make_program(harness.settings, "C1", group_size=4, heads_up=True)
    view = open_settings(harness, program_id)
    View(**view).to_dict()  # passes Block Kit validation
    assert view["callback_id"] == home.SETTINGS_CALLBACK
    assert json.loads(view["private_metadata"])["program"] == program_id
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["size"]["element"]["initial_option"]["value"] == "4"
    assert blocks["timezone"]["element"]["initial_value"] == "America/New_York"
    assert [o["value"] for o in blocks["options"]["element"]["initial_options"]] == [
        "heads_up", "auto_schedule"  # picking a day when nobody has is on by default
    ]
    assert blocks["checkin"]["element"]["initial_option"]["value"] == "3"
    assert blocks["touch"]["element"]["initial_option"]["value"] == "12"
    assert "#lunch" in view["blocks"][0]["text"]["text"]


def test_the_modal_sets_a_monthly_round_on_the_last_such_weekday(harness):
    program_id = make_program(harness.settings, "C1")
    view = open_settings(harness, program_id)
    (week,) = [b for b in view["blocks"] if b.get("block_id") == "week"]
    assert [o["value"] for o in week["element"]["options"]] == ["1", "2", "3", "4", "-1"]
    monthly = {"value": {"type": "static_select", "selected_option": {"value": "monthly"}}}
    last = {"value": {"type": "static_select", "selected_option": {"value": "-1"}}}
    status, ack = harness.submit(home.SETTINGS_CALLBACK, form(cadence=monthly, week=last),
                                 json.dumps({"program": program_id}), user="UADMIN")  # fmt: skip
    assert status == 200 and not ack
    program = program_in(harness, "C1")
    assert (program.cadence, program.week_of_month, program.weekday) == ("monthly", -1, 3)
    assert "the last Thursday of every month" in harness.command("status", user="UADMIN").text
    view = open_settings(harness, program_id)
    (week,) = [b for b in view["blocks"] if b.get("block_id") == "week"]
    assert week["element"]["initial_option"]["value"] == "-1"


def as_left(view: dict, **changes) -> dict:
    """The state Slack submits for a modal whose fields were left as they opened, but for
    `changes` (block id -> the element's new state)."""
    state = filled_in(view)
    for block_id, value in changes.items():
        (action_id,) = state[block_id]
        state[block_id][action_id].update(value)
    return state


def test_two_admins_saving_the_settings_at_once_keep_each_others_changes(harness):
    program_id = make_program(harness.settings, "C1", group_size=2, heads_up=True)
    first = open_settings(harness, program_id, user="UADMIN")
    second = open_settings(harness, program_id, user="UOWNER")  # both open the same settings

    size_3 = {"selected_option": {"value": "3"}}
    no_options = {"selected_options": []}  # the first admin also turns the heads-up off
    harness.submit(home.SETTINGS_CALLBACK, as_left(first, size=size_3, options=no_options),
                   first["private_metadata"], user="UADMIN")  # fmt: skip
    later = {"selected_time": "13:15"}
    (options,) = [b for b in second["blocks"] if b.get("block_id") == "options"]
    shown = options["element"].get("initial_options") or []
    summary = {"selected_options": [*shown, {"value": "post_summary"}]}
    harness.submit(home.SETTINGS_CALLBACK, as_left(second, time=later, options=summary),
                   second["private_metadata"], user="UOWNER")  # fmt: skip

    program = program_in(harness, "C1")
    # each admin's change stands: the second form, which still showed size 2 and the
    # heads-up on, did not put them back
    assert (program.group_size, program.time_of_day) == (3, "13:15")
    assert (program.heads_up, program.post_summary) == (False, True)


def test_a_form_opened_on_a_weekly_program_keeps_a_monthly_week_set_meanwhile(harness):
    """The form of a weekly program shows "The first one" as its week of the month; saved
    for another field, it put the first week over the last Friday an admin had just set."""
    program_id = make_program(harness.settings, "C1")  # weekly
    view = open_settings(harness, program_id, user="UADMIN")
    harness.command("schedule monthly last fri 12:00", user="UOWNER", channel="C1")
    size_3 = {"selected_option": {"value": "3"}}
    harness.submit(home.SETTINGS_CALLBACK, as_left(view, size=size_3), view["private_metadata"],
                   user="UADMIN")  # fmt: skip
    program = program_in(harness, "C1")
    assert (program.cadence, program.weekday, program.week_of_month) == ("monthly", 4, -1)
    assert program.group_size == 3
    assert "the last Friday of every month" in harness.command("status", user="UADMIN").text


@pytest.mark.parametrize("change", [
    {"weekday": "3"}, {"group_size": True}, {"week_of_month": 1.5}, {"options": ["x"]},
    {"options": "heads_up"}, {"extra": 1}, {"timezone": None},
])  # fmt: skip
def test_settings_kept_in_a_form_that_are_not_of_their_types_are_not_trusted(change):
    """A form whose kept settings are not what the app wrote saves all it holds, as forms
    opened before they were kept do."""
    from bot.edge import settings_form

    shown = {"cadence": "weekly", "weekday": 0, "time_of_day": "12:00", "timezone": "UTC",
             "group_size": 2, "checkin_after_days": 3, "keep_in_touch_weeks": 12,
             "week_of_month": None, "options": ["heads_up"]}  # fmt: skip
    assert settings_form.shown_settings(shown).options == frozenset({"heads_up"})
    assert settings_form.shown_settings({**shown, **change}) is None


def test_submitting_the_modal_saves_and_updates_the_setup_message(harness):
    setup = harness.command("setup", user="UADMIN", channel="C1")
    program = program_in(harness, "C1")
    url = harness.slack.new_response_url()
    status, ack = harness.submit(
        home.SETTINGS_CALLBACK,
        form(),
        json.dumps({"program": program.id, "response_url": url}),
        user="UADMIN",
    )
    assert status == 200 and not ack  # an empty acknowledgement closes the modal
    program = program_in(harness, "C1")
    assert (program.cadence, program.weekday, program.time_of_day) == ("biweekly", 3, "12:30")
    assert (program.timezone, program.group_size) == ("Europe/Paris", 3)
    assert program.checkin_after_days == 5
    assert program.keep_in_touch_weeks == 8
    assert (program.post_summary, program.heads_up) == (True, True)
    assert (program.allow_guests, program.self_service_levels) == (False, False)
    assert program.anchor_date is not None
    update = harness.slack.responses(url)[0]
    assert (
        update["replace_original"]
        and "every 2 weeks on Thursday at 12:30 Europe/Paris" in update["text"]
    )
    assert harness.slack.home_view("T1", "UADMIN") is not None
    assert setup.responses


@pytest.mark.parametrize(
    "field, value, block",
    [
        ("timezone", {"value": "Mars/Olympus_Mons"}, "timezone"),
        ("timezone", {"value": ""}, "timezone"),
        ("time", {"value": {"type": "timepicker", "selected_time": "25:99"}}, "time"),
        ("size", {"value": {"type": "static_select", "selected_option": {"value": "12"}}}, "size"),
        (
            "checkin",
            {"value": {"type": "static_select", "selected_option": {"value": "9"}}},
            "checkin",
        ),
        (
            "cadence",
            {"value": {"type": "static_select", "selected_option": {"value": "daily"}}},
            "cadence",
        ),
        ("touch", {"value": {"type": "static_select", "selected_option": {"value": "3"}}},
         "touch"),  # fmt: skip
        (
            "options",
            {"value": {"type": "checkboxes", "selected_options": [{"value": "x"}]}},
            "options",
        ),
    ],
)
def test_a_bad_form_shows_errors_in_the_modal_and_saves_nothing(harness, field, value, block):
    program_id = make_program(harness.settings, "C1")
    before = snapshot(harness.settings)
    status, ack = harness.submit(
        home.SETTINGS_CALLBACK,
        form(**{field: value}),
        json.dumps({"program": program_id}),
        user="UADMIN",
    )
    assert status == 200
    assert ack["response_action"] == "errors" and block in ack["errors"]
    assert snapshot(harness.settings) == before


@pytest.mark.parametrize("typed", ["Europe/Berlin & Co", "America/New_", "<Europe/Paris>",
                                   "*UTC*", "`Asia/Tokyo`"])  # fmt: skip
def test_a_time_zone_error_in_the_modal_reads_as_the_plain_text_it_is(harness, typed):
    """Slack shows a modal's errors as plain text: the error under a mistyped time zone
    echoed it escaped for mrkdwn, as "Europe/Berlin &amp; Co" or "America/Newˍ"."""
    program_id = make_program(harness.settings, "C1")
    status, ack = harness.submit(home.SETTINGS_CALLBACK, form(timezone={"value": typed}),
                                 json.dumps({"program": program_id}), user="UADMIN")  # fmt: skip
    error = ack["errors"]["timezone"]
    assert "use an IANA name such as Europe/Berlin" in error
    assert not any(mark in error for mark in ("&amp;", "&lt;", "&gt;", "∗", "ˍ", "ˋ", "`"))


def test_a_non_admin_cannot_save_settings_or_open_them(harness):
    program_id = make_program(harness.settings, "C1")
    before = snapshot(harness.settings)
    status, ack = harness.submit(
        home.SETTINGS_CALLBACK, form(), json.dumps({"program": program_id}), user="U1"
    )
    # Closed at once (who may save is asked of Slack after the acknowledgement), not saved,
    # and they are told why on their Home tab.
    assert status == 200 and not ack
    assert snapshot(harness.settings) == before
    assert "only workspace admins" in json.dumps(harness.slack.home_view("T1", "U1"))

    harness.slack.reset_calls()
    result = harness.click(home.SETTINGS, str(program_id), user="U1")
    assert harness.slack.calls("views.open") == []
    assert "only workspace admins" in result.text


@pytest.mark.parametrize("from_setup", [False, True])
def test_settings_slack_would_not_let_be_checked_are_said_to_be_unsaved(harness, from_setup):
    """The modal closes at once and who saved it is asked of Slack afterwards: when Slack
    refused that question, the form was dropped and the admin was told nothing, so they
    believed it saved."""
    program_id = make_program(harness.settings, "C1")
    url = harness.slack.new_response_url() if from_setup else None
    metadata = {"program": program_id, **({"response_url": url} if url else {})}
    harness.slack.fail_next("users.info", error="internal_error")
    status, ack = harness.submit(home.SETTINGS_CALLBACK, form(), json.dumps(metadata),
                                 user="UADMIN")  # fmt: skip
    assert status == 200 and not ack
    assert program_in(harness, "C1").cadence == "weekly"  # not saved: who saved it is unknown
    told = json.dumps(harness.slack.home_view("T1", "UADMIN"))
    assert "weren't saved" in told and "internal_error" in told and "save them again" in told
    if from_setup:
        (update,) = harness.slack.responses(url)
        assert "weren't saved" in update["text"] and not update["replace_original"]


# -- schedule, size, on and off -----------------------------------------------------------------


def test_schedule(harness):
    make_program(harness.settings, "C1")
    result = harness.command("schedule monthly wed 09:15 asia/tokyo", user="UADMIN")
    program = program_in(harness, "C1")
    assert (program.cadence, program.weekday, program.time_of_day) == ("monthly", 2, "09:15")
    assert (program.timezone, program.week_of_month) == ("Asia/Tokyo", 1)
    assert "the first Wednesday of every month at 09:15 Asia/Tokyo" in result.text
    assert "(America/New_York)" in result.text  # the next round in the admin's time
    nxt = program.next_run_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert (nxt.weekday(), nxt.hour, nxt.minute, nxt.day <= 7) == (2, 9, 15, True)

    result = harness.command("schedule monthly last fri 18:00", user="UADMIN")
    program = program_in(harness, "C1")
    assert (program.week_of_month, program.timezone) == (-1, "Asia/Tokyo")
    assert "the last Friday of every month at 18:00 Asia/Tokyo" in result.text
    nxt = program.next_run_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert (nxt.weekday(), nxt.hour, (nxt + dt.timedelta(days=7)).month != nxt.month) == (
        4, 18, True,
    )

    harness.command("schedule weekly fri 13:00", user="UADMIN")  # the time zone stays
    program = program_in(harness, "C1")
    assert (program.cadence, program.weekday, program.timezone) == ("weekly", 4, "Asia/Tokyo")
    assert program.week_of_month is None


def test_admin_commands_about_a_program_need_one_here(harness):
    for text in ("schedule weekly mon 12:00", "size 3", "enable", "disable", "now"):
        result = harness.command(text, user="UADMIN", channel="C2")
        assert "no lunch pairing in this channel yet" in result.text
        assert "`/meet setup` starts it here" in result.text
    assert program_in(harness, "C2") is None


def test_disable_and_enable(harness):
    make_program(harness.settings, "C1")
    assert "Lunch pairing is off in <#C1>" in harness.command("disable", user="UADMIN").text
    assert not program_in(harness, "C1").enabled
    assert "already off" in harness.command("disable", user="UADMIN").text
    assert "`/meet enable` turns it back on" in harness.command("now", user="UADMIN").text
    result = harness.command("enable", user="UADMIN")
    assert "back on in <#C1>. Next round: Monday" in result.text
    assert program_in(harness, "C1").enabled
    assert "already on" in harness.command("enable", user="UADMIN").text


# -- rounds and stats ---------------------------------------------------------------------------


def test_now_acknowledges_at_once_and_reports_the_outcome_privately(harness):
    program_id = make_program(harness.settings, "C1")
    harness.slack.add_member("T1", "C1", "UBOT")
    result = harness.command("now", user="UADMIN", channel="C1")
    assert result.ack_text == ""  # acknowledged at once, the round ran afterwards
    # one post on the response_url, whatever the round's length; the outcome comes after
    assert result.texts == ["Starting a round in <#C1> now; I'll tell you how it went."]
    (outcome,) = harness.slack.ephemerals("C1", user="UADMIN")
    assert "Round in <#C1> done: 2 groups, 2 introduced" in outcome.text
    with harness.session() as session:
        rounds = list(session.scalars(select(Round).where(Round.program_id == program_id)))
        assert len(rounds) == 1 and len(rounds[0].groups) == 2

    stats = harness.command("stats", user="UADMIN", channel="C1").text
    assert "<#C1>: 1 round, 2 groups, 4 people paired, 0 scheduled, 0 groups met" in stats
    everywhere = harness.command("stats", user="UADMIN", channel="D1").text
    assert "<#C1>" in everywhere


def test_now_in_a_private_channel_the_app_left_says_how_to_mend_it(harness):
    harness.slack.add_channel("T1", "G7", "lunch-private", members=["UADMIN", "U1", "U2", "U3"],
                              is_private=True)
    make_program(harness.settings, "G7")  # set up while the app was there; then removed

    harness.command("now", user="UADMIN", channel="G7")

    (outcome,) = harness.slack.messages()  # a DM: no ephemeral where the app cannot post
    assert outcome.text == (
        "⚠️ I can't see who is in <#G7> (Slack says `channel_not_found`), so no round can run "
        "there: invite the app there with `/invite @Worth Knowing`, or `/meet disable` it."
    )
    assert harness.slack.calls("conversations.open") == []

def test_now_when_slack_fails_the_round_says_so_and_now_again_finishes_it(harness):
    make_program(harness.settings, "C1")
    harness.slack.add_member("T1", "C1", "UBOT")
    harness.command("stats", user="UADMIN", channel="C1")  # the channel's members read once
    harness.slack.fail_next("auth.test", error="internal_error")  # the round's first call

    harness.command("now", user="UADMIN", channel="C1")

    (stopped,) = harness.slack.ephemerals("C1", user="UADMIN")
    assert stopped.text == (
        "The round in <#C1> stopped: Slack answered `internal_error`. `/meet now` again in a "
        "few minutes picks it up where it stopped."
    )
    harness.command("now", user="UADMIN", channel="C1")
    done = harness.slack.ephemerals("C1", user="UADMIN")[-1]
    assert "Round in <#C1> done: 2 groups, 2 introduced" in done.text

def test_stats_with_no_programs(harness):
    assert "No programs yet" in harness.command("stats", user="UADMIN", channel="D1").text


def test_stats_of_many_programs_with_many_failures_stays_one_readable_message(harness):
    """Outside a program's channel every program is listed: as many as the Home tab shows,
    three failures each, so the answer stays within Slack's 40,000 characters (the
    simulator refuses a longer one, as Slack does)."""
    from test_meet_harness import add_group

    from bot.storage.models import Group

    channels = [f"C{n:02d}" for n in range(20)]
    for channel in channels:
        program_id = make_program(harness.settings, channel, count_members=False)
        for n in range(12):
            group_id = add_group(harness.settings, program_id, [f"U{n}A{channel}", f"U{n}B{channel}"])
            with harness.session() as session:
                failed = session.get(Group, group_id)
                failed.delivery, failed.error = "failed", "user_not_visible"
    text = harness.command("stats", user="UADMIN", channel="D1").text
    assert "*Lunch pairing so far*" in text
    listed = [c for c in channels if f"<#{c}>:" in text]
    assert len(listed) == home.MAX_ADMIN_PROGRAMS_SHOWN
    assert "…and 5 more programs: `/meet stats` in a program's channel shows that one." in text
    assert text.count("`user_not_visible`") == home.MAX_FAILURES_SHOWN * len(listed)
    # in a program's own channel, its ten newest failures
    one = harness.command("stats", user="UADMIN", channel="C03").text
    assert one.count("`user_not_visible`") == 10


# -- admins and other people's profiles ---------------------------------------------------------


def test_admins_add_list_remove(harness):
    assert "Nobody else has been added" in harness.command("admins", user="UADMIN").text
    assert (
        "<@U2> is now a Worth Knowing admin"
        in harness.command("admins add <@U2|u2>", user="UADMIN").text
    )
    assert "already" in harness.command("admins add <@U2>", user="UADMIN").text
    assert "Worth Knowing admins: <@U2>" in harness.command("admins list", user="U2").text
    with harness.session() as session:
        row = session.scalar(select(Admin))
        assert (row.team_id, row.user_id, row.added_by) == ("T1", "U2", "UADMIN")
    # an added admin can add others, and be removed
    harness.command("admins add <@U3>", user="U2")
    assert "no longer" in harness.command("admins remove <@U2>", user="U3").text
    assert "only workspace admins" in harness.command("size 3", user="U2", channel="C1").text
    text = harness.command("admins remove <@UADMIN>", user="U3").text
    assert "wasn't a Worth Knowing admin" in text and "still manage" in text


@pytest.mark.parametrize(
    "text, says",
    [
        ("admins add <@UNOBODY|ghost>", "can't find `UNOBODY` in this workspace"),
        ("level <@UNOBODY> 3", "can't find `UNOBODY` in this workspace"),
        ("admins add <@UROBOT>", "is a bot"),
        ("department <@UGONE> Sales", "deactivated"),
    ],
)
def test_mentions_of_people_who_cannot_be_acted_on(harness, text, says):
    before = snapshot(harness.settings)
    assert says in harness.command(text, user="UADMIN").text
    assert snapshot(harness.settings) == before


def test_admins_set_other_peoples_profiles(harness):
    harness.command("level <@U2|u2> 7", user="UADMIN")
    harness.command("department <@U2> People &amp; Culture", user="UADMIN")
    result = harness.command("location <@U2> São Paulo", user="UADMIN")
    assert "<@U2>'s location is now *São Paulo* (set by an admin)" in result.text
    with harness.session() as session:
        person = session.scalar(select(Member).where(Member.user_id == "U2"))
    assert (person.level, person.department, person.location) == (
        7,
        "People & Culture",
        "São Paulo",
    )
    assert person.sources == {"level": "admin", "department": "admin", "location": "admin"}





def test_a_response_url_in_forged_metadata_is_not_posted_to(harness, dropping_slack):
    """The settings modal carries the setup message's response_url in its private metadata;
    a submission naming another host gets no post there (the Home tab still says it)."""
    program_id = make_program(harness.settings, "C1")
    elsewhere = dropping_slack.api_url.replace("/api/", "/hooks/T1/B1/x")
    status, _ = harness.submit(
        home.SETTINGS_CALLBACK, form(),
        json.dumps({"program": program_id, "response_url": elsewhere}), user="UADMIN",
    )  # fmt: skip
    assert status == 200
    assert program_in(harness, "C1").cadence == "biweekly"  # saved
    assert "every 2 weeks" in json.dumps(harness.slack.home_view("T1", "UADMIN"))
    time.sleep(0.5)  # a post would have reached it by now (it accepts at once)
    assert dropping_slack.attempts == 0


def test_an_admin_of_another_organisation_is_no_admin_here(harness):
    """In a shared channel Slack says someone of another organisation is an admin: of their
    own workspace. They ran `/meet size 8` and every other admin command here."""
    make_program(harness.settings, "C1")
    harness.slack.add_user("T1", "UOTHERADMIN", home_team="T0THER", is_admin=True)
    harness.slack.add_member("T1", "C1", "UOTHERADMIN")
    result = harness.command("size 8", user="UOTHERADMIN", channel="C1")
    assert "only workspace admins" in result.text.lower(), result.text
    assert program_in(harness, "C1").group_size == 2
    assert "Rounds in <#C1> now make groups of 8" in harness.command("size 8", user="UADMIN").text


@pytest.mark.parametrize("kind", [
    {"home_team": "T0THER", "is_stranger": True},  # an admin of another organisation
    {"deleted": True},  # a deactivated admin
])  # fmt: skip
def test_removing_an_admin_who_cannot_manage_the_app_says_nothing_of_managing_it(harness, kind):
    harness.slack.add_user("T1", "UWAS", is_admin=True, **kind)
    harness.slack.add_member("T1", "C1", "UWAS")
    with harness.session() as session:
        session.add(Admin(team_id="T1", user_id="UWAS", added_by="UADMIN"))
    reply = harness.command("admins remove <@UWAS>", user="UADMIN").text
    assert "can still manage" not in reply, reply
    assert "only workspace admins" in harness.command("size 3", user="UWAS").text.lower()
