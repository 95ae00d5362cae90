"""Dates are people's own: a pause runs through the person's last day where they are, "you're
back in" comes at their midnight, and history and status show their dates. Checked in
Australia/Sydney (UTC+10/+11), America/Los_Angeles (UTC-8/-7) and Asia/Kathmandu (UTC+5:45),
across daylight saving changes, with a frozen clock."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from test_meet_harness import Harness

from bot.domain.services.due import reschedule
from bot.domain.services.rounds import run_round
from bot.jobs.clock import Clock
from bot.storage.db import session_scope
from bot.storage.models import Group, GroupMember, Member, Participation, Program, Round

SYDNEY, LOS_ANGELES, KATHMANDU = "Australia/Sydney", "America/Los_Angeles", "Asia/Kathmandu"
FRIENDS = ["UF1", "UF2", "UF3"]  # always free, so every round has groups


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def program_in(slack, settings, zone: str, people: dict[str, str | None]) -> int:
    """A program channel in `zone` with these people (user id -> their Slack time zone)."""
    for user in FRIENDS:
        slack.add_user("T1", user, tz=zone)
    for user, tz in people.items():
        slack.add_user("T1", user, tz=tz)
    slack.add_channel("T1", "C1", "lunch", members=[*FRIENDS, *people, "UBOT"])
    with session_scope(settings.database_url) as session:
        program = Program(team_id="T1", channel_id="C1", timezone=zone)
        session.add(program)
        session.flush()
        return program.id


def pause(settings, program_id: int | None, user: str, until: dt.date) -> None:
    with session_scope(settings.database_url) as session:
        if program_id is None:
            session.add(Member(team_id="T1", user_id=user, values={}, sources={},
                               paused_until=until))
        else:
            session.add(Participation(program_id=program_id, user_id=user, paused_until=until))


def grouped(settings, slot: dt.datetime) -> set[str]:
    with session_scope(settings.database_url) as session:
        return set(
            session.scalars(
                select(GroupMember.user_id)
                .join(Group, Group.id == GroupMember.group_id)
                .join(Round, Round.id == Group.round_id)
                .where(Round.slot == slot)
            )
        )


# ---------------------------------------------------------------- who is in a round

# (the program's zone, the round's instant in UTC, what that is locally, a note)
ROUNDS = [
    # Monday 2 March, 09:00 in Sydney (AEDT, +11) is still Sunday in UTC
    (SYDNEY, utc(2026, 3, 1, 22), dt.date(2026, 3, 2)),
    # Monday 2 March, 17:30 in Los Angeles (PST, -8) is already Tuesday in UTC
    (LOS_ANGELES, utc(2026, 3, 3, 1, 30), dt.date(2026, 3, 2)),
    # Monday 2 March, 05:00 in Kathmandu (+5:45) is Sunday 23:15 in UTC
    (KATHMANDU, utc(2026, 3, 1, 23, 15), dt.date(2026, 3, 2)),
    # Monday 6 April, 09:00 in Sydney, the day after summer time ended (AEST, +10)
    (SYDNEY, utc(2026, 4, 5, 23), dt.date(2026, 4, 6)),
    # Monday 9 March, 17:30 in Los Angeles, the day after summer time began (PDT, -7)
    (LOS_ANGELES, utc(2026, 3, 10, 0, 30), dt.date(2026, 3, 9)),
]


@pytest.mark.parametrize("zone, slot, local_day", ROUNDS)
def test_a_pause_covers_the_round_only_through_the_persons_own_last_day(
    slack, settings, zone, slot, local_day
):
    day_before = local_day - dt.timedelta(days=1)
    people = {
        "UBACK": zone,  # paused through the day before the round: back for it
        "UTODAY": zone,  # paused through the round's own day: not in it
        "UALL": zone,  # paused everywhere through the round's day
        "UNOZONE": None,  # no time zone in Slack: the program's days count
        "UNOZONE_BACK": None,
    }
    program_id = program_in(slack, settings, zone, people)
    pause(settings, program_id, "UBACK", day_before)
    pause(settings, program_id, "UTODAY", local_day)
    pause(settings, None, "UALL", local_day)
    pause(settings, program_id, "UNOZONE", local_day)
    pause(settings, program_id, "UNOZONE_BACK", day_before)
    with freeze_time(slot):
        run_round(settings, program_id, slot)
    assert grouped(settings, slot) == {*FRIENDS, "UBACK", "UNOZONE_BACK"}


def test_people_of_one_round_in_different_zones_each_keep_their_own_date(slack, settings):
    """A Monday 09:00 Sydney round is Sunday evening in Los Angeles: someone there paused
    through Sunday is still paused; someone in Sydney paused through Sunday is back."""
    slot = utc(2026, 3, 1, 22)
    program_id = program_in(slack, settings, SYDNEY, {"USYD": SYDNEY, "ULAX": LOS_ANGELES})
    pause(settings, program_id, "USYD", dt.date(2026, 3, 1))
    pause(settings, program_id, "ULAX", dt.date(2026, 3, 1))
    with freeze_time(slot):
        run_round(settings, program_id, slot)
    assert grouped(settings, slot) == {*FRIENDS, "USYD"}


# ---------------------------------------------------------------- "you're back in"

# (zone, last paused day, the person's midnight after it in UTC)
MIDNIGHTS = [
    (SYDNEY, dt.date(2026, 3, 1), utc(2026, 3, 1, 13)),  # AEDT, +11: 11 h before UTC's
    (KATHMANDU, dt.date(2026, 3, 1), utc(2026, 3, 1, 18, 15)),  # +5:45
    (LOS_ANGELES, dt.date(2026, 3, 1), utc(2026, 3, 2, 8)),  # PST, -8
    (SYDNEY, dt.date(2026, 4, 4), utc(2026, 4, 4, 13)),  # still +11 at midnight on the 5th
    (SYDNEY, dt.date(2026, 4, 5), utc(2026, 4, 5, 14)),  # the day summer time ends: +10 after
    (LOS_ANGELES, dt.date(2026, 3, 8), utc(2026, 3, 9, 7)),  # the day summer time begins: -7
]


def back_in_dms(slack, user: str) -> list[str]:
    conversation = slack.conversation_id("T1", [user])
    return [m.text for m in slack.messages(conversation)] if conversation else []


@pytest.mark.parametrize("zone, last_day, midnight", MIDNIGHTS)
def test_youre_back_in_comes_at_the_persons_midnight(slack, settings, zone, last_day, midnight):
    program_id = program_in(slack, settings, zone, {"UME": zone, "UNOZONE": None})
    with session_scope(settings.database_url) as session:
        session.add(Member(team_id="T1", user_id="UME", timezone=zone, values={}, sources={},
                           paused_until=last_day))
        # without a time zone of their own, a pause in a program ends at the program's midnight
        session.add(Participation(program_id=program_id, user_id="UNOZONE",
                                  paused_until=last_day))
        reschedule(session.get(Program, program_id), midnight)
    clock = Clock(settings)
    before = midnight - dt.timedelta(minutes=1)
    with freeze_time(before):
        clock.tick(before)
    assert back_in_dms(slack, "UME") == [] and back_in_dms(slack, "UNOZONE") == []
    after = midnight + dt.timedelta(seconds=30)
    with freeze_time(after):
        report = clock.tick(after)
    assert report.pauses_ended == 2
    assert back_in_dms(slack, "UME") == ["You're back in: your pause is over, see you next round."]
    assert back_in_dms(slack, "UNOZONE") == [
        "You're back in: your pause in <#C1> is over, see you next round."
    ]


def test_every_pause_ends_within_a_tick_of_its_own_midnight_however_they_interleave(
    slack, settings
):
    """People from UTC+14 to UTC-11, some paused a day longer: the clock, ticking every five
    minutes over two days, tells each of them within five minutes of their midnight, and
    while it waits it asks only "anything due?"."""
    zones = ["Pacific/Kiritimati", SYDNEY, KATHMANDU, "Europe/Berlin", "UTC", LOS_ANGELES,
             "Pacific/Pago_Pago"]
    pauses = {f"U{i}": (zone, dt.date(2026, 3, 1) + dt.timedelta(days=i % 2))
              for i, zone in enumerate(zones * 2)}
    program_id = program_in(slack, settings, "UTC", {u: z for u, (z, _) in pauses.items()})
    with session_scope(settings.database_url) as session:
        for user, (zone, until) in pauses.items():
            session.add(Member(team_id="T1", user_id=user, timezone=zone, values={},
                               sources={}, paused_until=until))
        reschedule(session.get(Program, program_id), utc(2026, 3, 10))
    clock = Clock(settings)
    told_at: dict[str, dt.datetime] = {}
    moment = utc(2026, 2, 28, 12)
    with freeze_time(moment) as frozen:
        while moment < utc(2026, 3, 3, 14):
            clock.tick(moment)
            for user in pauses:
                if user not in told_at and back_in_dms(slack, user):
                    told_at[user] = moment
            moment += dt.timedelta(minutes=5)
            frozen.move_to(moment)
    for user, (zone, until) in pauses.items():
        midnight = dt.datetime.combine(
            until + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(zone)
        )
        assert midnight <= told_at[user] < midnight + dt.timedelta(minutes=5), (user, zone)
        assert len(back_in_dms(slack, user)) == 1


# ---------------------------------------------------------------- what people read


@pytest.fixture
def sydney_channel(slack, settings):
    """A Sydney program with people in Sydney, in Los Angeles and without a time zone, who
    were a lunch group in the round of Monday 2 March, 09:00 in Sydney (Sunday in UTC)."""
    from test_meet_harness import make_program

    people = {"USYD": SYDNEY, "ULAX": LOS_ANGELES, "UNOZONE": None}
    for user, tz in people.items():
        slack.add_user("T1", user, tz=tz)
    slack.add_channel("T1", "C1", "lunch", members=[*people, "UBOT"])
    program_id = make_program(settings, "C1", timezone=SYDNEY)
    slot = utc(2026, 3, 1, 22)
    with session_scope(settings.database_url) as session:
        round_ = Round(program_id=program_id, slot=slot, status="closed", closed_at=slot)
        round_.groups.append(
            Group(position=0, organiser_id="USYD", delivery="posted", outcome="met",
                  members=[GroupMember(user_id=u) for u in people])
        )
        session.add(round_)
    h = Harness(slack, settings)
    try:
        yield h, program_id
    finally:
        h.close()


def test_history_shows_the_day_of_the_lunch_where_each_person_is(sydney_channel):
    harness, _ = sydney_channel
    with freeze_time(utc(2026, 3, 4, 12)):
        assert "Monday 2 March 2026 in <#C1>" in harness.command("history", user="USYD").text
        assert "Sunday 1 March 2026 in <#C1>" in harness.command("history", user="ULAX").text
        # no time zone of their own: the program's
        assert "Monday 2 March 2026 in <#C1>" in harness.command("history", user="UNOZONE").text
        harness.event({"type": "app_home_opened", "user": "ULAX", "channel": "D1", "tab": "home"})
    home = json.dumps(harness.slack.home_view("T1", "ULAX"))
    assert "Sunday 1 March 2026 in <#C1>" in home


def test_status_and_home_say_paused_through_the_persons_own_last_day(sydney_channel, settings):
    harness, program_id = sydney_channel
    for user in ("USYD", "UNOZONE"):
        pause(settings, program_id, user, dt.date(2026, 3, 2))
    pause(settings, program_id, "ULAX", dt.date(2026, 3, 2))
    # 14:00 UTC on the 2nd: already the 3rd in Sydney, so the Sydney pauses are over
    with freeze_time(utc(2026, 3, 2, 14)):
        for user in ("USYD", "UNOZONE"):
            text = harness.command("status", user=user).text
            assert "<#C1>" in text and "Next round:" in text and "paused" not in text, user
        harness.event({"type": "app_home_opened", "user": "UNOZONE", "channel": "D1"})
        assert "Paused through" not in json.dumps(harness.slack.home_view("T1", "UNOZONE"))
    # 01:00 UTC on the 3rd: still Monday the 2nd in Los Angeles
    with freeze_time(utc(2026, 3, 3, 1)):
        text = harness.command("status", user="ULAX").text
        assert "You're paused through Monday 2 March 2026." in text
        harness.event({"type": "app_home_opened", "user": "ULAX", "channel": "D1"})
        assert "Paused through Monday 2 March 2026" in json.dumps(
            harness.slack.home_view("T1", "ULAX")
        )


def test_pause_for_weeks_counts_from_the_persons_today(sydney_channel):
    harness, _ = sydney_channel
    with freeze_time(utc(2026, 3, 1, 22)):  # Monday 09:00 in Sydney, Sunday in UTC
        for user in ("USYD", "UNOZONE"):
            text = harness.command("pause 1 week", user=user).text
            assert "through Monday 9 March 2026" in text, user
        text = harness.command("pause 1 week", user="ULAX").text  # Sunday 14:00 there
        assert "through Sunday 8 March 2026" in text


def test_did_you_meet_comes_at_the_rounds_local_time_across_a_dst_change(slack, settings):
    """Thursday 2 April, 12:00 in Sydney; three days later summer time has ended, and the
    check-in still comes at 12:00 there, not at 11:00."""
    program_id = program_in(slack, settings, SYDNEY, {})
    with session_scope(settings.database_url) as session:
        session.get(Program, program_id).checkin_after_days = 3
    slot = utc(2026, 4, 2, 1)  # 12:00 AEDT (+11)
    with freeze_time(slot):
        report = run_round(settings, program_id, slot)
    with session_scope(settings.database_url) as session:
        checkin_at = session.get(Round, report.round_id).checkin_at
    assert checkin_at == utc(2026, 4, 5, 2)  # Sunday 12:00 AEST (+10)


def test_the_home_tabs_pause_button_counts_from_the_programs_today_without_a_zone(
    sydney_channel,
):
    from bot.edge import home

    harness, program_id = sydney_channel
    with freeze_time(utc(2026, 3, 1, 22)):  # Monday 09:00 in Sydney, Sunday in UTC
        harness.click(home.PAUSE, str(program_id), user="UNOZONE", from_home=True)
    view = json.dumps(harness.slack.home_view("T1", "UNOZONE"))
    assert "through Monday 16 March 2026" in view
