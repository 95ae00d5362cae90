"""Lunches that happen, through Slack: the intro offers days everyone can make as buttons,
one click proposes, the organiser (or everyone) agrees, the agreed lunch comes with calendar
links; "None of these" and "Reschedule" offer more days; nobody outside the group can click."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from test_meet_harness import make_program, open_harness

from bot.domain.services import rounds
from bot.slack import round_messages
from bot.storage.models import Group

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # a Monday


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture(autouse=True)
def during_the_round():
    """Clicks come while the round is on: an offered day that has passed is refused."""
    with freeze_time(START + dt.timedelta(minutes=5), tick=True):
        yield


def run(harness, slack, settings, **options):
    """A round delivered in #lunch on Monday 1 June; its first group."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", **options)
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group).order_by(Group.id)).first()
        return group.id, group.conversation_id, group.organiser_id, [m.user_id for m in group.members]


def date_buttons(slack, conversation) -> list[dict]:
    intro = slack.messages(conversation)[0]
    (dates,) = [b for b in intro.blocks if b.get("block_id", "").startswith("dates-")]
    return [e for e in dates["elements"] if e["action_id"].startswith(round_messages.LUNCH_PICK)]


def calendar_links(slack, conversation: str) -> list[str]:
    """The calendar links of the group DM's last message, which says the lunch is on."""
    agreed = slack.messages(conversation)[-1]
    assert "Lunch is on" in agreed.text
    return [e["url"] for b in agreed.blocks if b["type"] == "actions" for e in b["elements"]
            if e.get("url")]  # fmt: skip

def test_the_intro_offers_days_and_the_organiser_agrees_for_the_group(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    buttons = date_buttons(slack, conversation)
    assert [b["text"]["text"] for b in buttons] == ["Tue 2 Jun, 12:00", "Wed 3 Jun, 12:00",
                                                    "Thu 4 Jun, 12:00"]  # fmt: skip
    assert all(b["value"].startswith(f"{group_id}:") and b["value"].split(":")[1].isdigit()
               for b in buttons)  # fmt: skip
    other = next(u for u in members if u != organiser)
    harness.click(buttons[1]["action_id"], buttons[1]["value"], user=other, channel=conversation)
    proposed = slack.messages(conversation)[-1]
    assert f"<@{other}> can do <!date^" in proposed.text and f"<@{organiser}> can confirm" in proposed.text

    harness.click(buttons[1]["action_id"], buttons[1]["value"], user=organiser, channel=conversation)
    agreed = slack.messages(conversation)[-1]
    assert "Lunch is on: <!date^1780480800^" in agreed.text  # Wed 3 Jun 12:00 Berlin
    links = {e["action_id"]: e for e in agreed.blocks[1]["elements"]}
    google = parse_qs(urlsplit(links["calendar_google"]["url"]).query)
    assert google["dates"] == ["20260603T100000Z/20260603T110000Z"]
    assert "#lunch" in google["details"][0] and google["text"][0].startswith("Lunch: ")
    assert "outlook.office.com" in links["calendar_outlook"]["url"]
    assert links[round_messages.LUNCH_RESCHEDULE]["value"] == str(group_id)
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == dt.datetime(2026, 6, 3, 10, tzinfo=dt.UTC)
    rounds.record_checkin(settings, "T1", group_id, organiser, "met")
    stats = harness.command("stats", user="UADMIN", channel="C1").responses[0]["text"]
    assert "1 scheduled (100% of those met)" in stats


def test_everyone_choosing_the_same_day_agrees_it_too(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    button = date_buttons(slack, conversation)[0]
    for member in [u for u in members if u != organiser]:
        harness.click(button["action_id"], button["value"], user=member, channel=conversation)
    assert "Lunch is on" not in slack.messages(conversation)[-1].text  # the organiser is left
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    assert "Lunch is on" in slack.messages(conversation)[-1].text


def test_forged_and_foreign_clicks_change_nothing(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    button = date_buttons(slack, conversation)[0]
    before = len(slack.messages(conversation))
    outsider = harness.click(button["action_id"], button["value"], user="UGUEST", channel=conversation)
    assert "isn't yours" in outsider.responses[0]["text"]
    never_offered = f"{group_id}:{int(dt.datetime(2026, 6, 6, 10, tzinfo=dt.UTC).timestamp())}"
    forged = harness.click(button["action_id"], never_offered, user=organiser, channel=conversation)
    assert "isn't yours" in forged.responses[0]["text"]
    assert len(slack.messages(conversation)) == before
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at is None


def test_none_of_these_offers_the_next_days_and_reschedule_starts_again(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    harness.click(round_messages.LUNCH_NONE, str(group_id), user=members[0], channel=conversation)
    more = slack.messages(conversation)[-1]
    labels = [e["text"]["text"] for b in more.blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Fri 5 Jun, 12:00", "None of these"]  # the round's last weekday
    harness.click(round_messages.LUNCH_NONE, str(group_id), user=members[0], channel=conversation)
    assert "No day in this round suits everyone" in json.dumps(slack.messages(conversation)[-1].blocks)

    button = date_buttons(slack, conversation)[0]
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    with freeze_time(START + dt.timedelta(days=1, hours=2)):
        harness.click(round_messages.LUNCH_RESCHEDULE, str(group_id), user=members[-1],
                      channel=conversation)  # fmt: skip
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at is None
    assert "wants to find another day" in slack.messages(conversation)[-1].text


def test_lunch_days_shape_the_days_offered_and_no_common_day_gets_a_plain_ask(
    harness, slack, settings
):
    for user in ("UADMIN", "U1", "U2", "U3", "U4"):
        assert "Thursday" in harness.command("days thu fri", user=user).text
    harness.command("days mon", user="U1")
    assert "Monday, at 13:15" in harness.command("lunchtime 13:15", user="U1").text
    assert "Give one time" in harness.command("lunchtime 12 30", user="U1").text
    group_id, conversation, organiser, members = run(harness, slack, settings)
    intro = json.dumps(slack.messages(conversation)[0].blocks)
    if "U1" in members:
        assert "No day in this round suits everyone" in intro
    else:
        assert [b["text"]["text"] for b in date_buttons(slack, conversation)] == [
            "Thu 4 Jun, 12:00", "Fri 5 Jun, 12:00"]  # fmt: skip


def follow_ups(slack, conversation) -> list[str]:
    return [m.text for m in slack.messages(conversation)[1:]]


def test_nobody_picks_so_the_app_does_then_reminds_on_the_day_and_asks_the_day_after(
    harness, slack, settings
):
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    clock = Clock(settings)
    utc = lambda *a: dt.datetime(2026, 6, *a, tzinfo=dt.UTC)  # noqa: E731
    clock.tick(utc(3, 11, 59))  # two working days after the intro: not yet
    assert follow_ups(slack, conversation) == []
    clock.tick(utc(3, 12, 1))
    clock.tick(utc(3, 12, 2))  # claimed once, whatever ticks follow
    (picked,) = follow_ups(slack, conversation)
    # Tuesday and Wednesday lunchtime are past: Thursday 12:00 in Berlin
    assert "Nobody had picked a day yet" in picked and "<!date^1780567200^" in picked
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == utc(4, 10)

    with freeze_time(utc(4, 12, 1)):  # the round's own check-in day: not for this group
        rounds.send_due_checkins(settings, rounds.utcnow())
    assert not any("Did you get to meet" in t for t in follow_ups(slack, conversation))
    clock.tick(utc(4, 7, 59))
    assert len(follow_ups(slack, conversation)) == 1
    clock.tick(utc(4, 8, 1))  # 10:00 in Berlin on the day
    assert "Lunch today" in follow_ups(slack, conversation)[-1]
    clock.tick(utc(5, 10, 1))  # the day after
    clock.tick(utc(5, 10, 5))
    texts = follow_ups(slack, conversation)
    assert texts[-1] == "Did you get to meet?" and len(texts) == 3
    with harness.session() as session:
        assert session.get(Group, group_id).checkin_ts is not None


def test_a_group_whose_day_cannot_be_picked_does_not_hold_up_the_others(
    harness, slack, settings, caplog
):
    from bot.jobs.clock import Clock
    from bot.storage.models import Member

    group_id, conversation, organiser, members = run(harness, slack, settings)
    with harness.session() as session:
        conversations = list(session.scalars(select(Group.conversation_id).order_by(Group.id)))
        # A zone this machine's tz database does not know (Slack's may be newer)
        session.scalars(select(Member).where(Member.user_id == organiser)).one().timezone = (
            "America/Nowhere")  # fmt: skip
    assert conversations[0] == conversation and len(conversations) > 1
    Clock(settings).tick(dt.datetime(2026, 6, 3, 12, 1, tzinfo=dt.UTC))
    for other in conversations[1:]:  # the groups after it got their day all the same
        assert "Nobody had picked a day yet" in " ".join(follow_ups(slack, other))
    assert follow_ups(slack, conversation) == []
    assert f"lunch follow-up (auto_at) of group {group_id} failed" in caplog.text
    with harness.session() as session:
        assert session.get(Group, group_id).auto_at is not None  # tried again at the next tick


def test_a_slack_time_zone_this_server_does_not_know_gives_way_to_the_programs(
    harness, slack, settings, caplog
):
    """Slack's tz database may be newer than the server's: the person's group is still
    offered days and gets its day picked, with the program's zone standing in for theirs."""
    from bot.jobs.clock import Clock
    from bot.storage.models import Member

    slack.add_user("T1", "UNEW", tz="America/Nowhere", tz_known_here=False)
    slack.add_member("T1", "C1", "UNEW")
    run(harness, slack, settings)
    with harness.session() as session:
        (group,) = session.scalars(select(Group).where(Group.members.any(user_id="UNEW")))
        conversation = group.conversation_id
        assert session.scalars(select(Member).where(Member.user_id == "UNEW")).one().timezone is None
    assert [b["text"]["text"] for b in date_buttons(slack, conversation)] == [
        "Tue 2 Jun, 12:00", "Wed 3 Jun, 12:00", "Thu 4 Jun, 12:00"]  # fmt: skip
    assert "'America/Nowhere' is not in this server's tz database" in caplog.text
    Clock(settings).tick(dt.datetime(2026, 6, 3, 12, 1, tzinfo=dt.UTC))
    (picked,) = follow_ups(slack, conversation)
    assert "Nobody had picked a day yet" in picked
    assert "failed" not in caplog.text


def test_no_day_is_picked_for_a_group_when_the_admin_turned_it_off(harness, slack, settings):
    from bot.jobs.clock import Clock
    from bot.storage.models import Program

    group_id, conversation, organiser, members = run(harness, slack, settings)
    with harness.session() as session:
        for program in session.scalars(select(Program)):
            program.auto_schedule = False
    Clock(settings).tick(dt.datetime(2026, 6, 3, 12, 1, tzinfo=dt.UTC))
    assert follow_ups(slack, conversation) == []
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at is None


def test_a_click_after_the_day_was_set_moves_nothing_and_says_how_to(harness, slack, settings):
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    tuesday = date_buttons(slack, conversation)[0]  # a button the clock's pick left behind
    Clock(settings).tick(dt.datetime(2026, 6, 3, 12, 1, tzinfo=dt.UTC))  # picks Thursday

    for member in (next(u for u in members if u != organiser), organiser):
        click = harness.click(tuesday["action_id"], tuesday["value"], user=member,
                              channel=conversation)  # fmt: skip

        (told,) = click.responses
        assert told["response_type"] == "ephemeral"
        assert told["text"].startswith("🗓️ Lunch is already on <!date^1780567200^")  # Thu 12:00
        assert told["text"].endswith("press Reschedule under that message.")
    (picked,) = follow_ups(slack, conversation)  # the group hears of one day only
    assert "<!date^1780567200^" in picked
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == dt.datetime(2026, 6, 4, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize("first", ["clock", "another click"])
def test_a_pick_that_loses_the_race_for_the_day_changes_nothing(harness, slack, settings,
                                                                first):
    """The click's unit of work read the group before the clock's pick (or a second click
    agreeing a day) committed: the day first set stays, and this click is told so."""
    from bot.domain.services import lunches
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    tuesday, wednesday = (dt.datetime(2026, 6, d, 10, tzinfo=dt.UTC) for d in (2, 3))
    with harness.session() as clicking:
        group = lunches.load(clicking, "T1", group_id)[0]
        assert group.lunch_at is None  # read: no day yet
        if first == "clock":
            with freeze_time(dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.UTC)):
                with harness.session() as session:
                    session.get(Group, group_id).auto_at = rounds.utcnow()
                Clock(settings).tick(rounds.utcnow())  # picks Tuesday, the first day ahead
        else:
            with harness.session() as other:
                theirs = lunches.pick(other, lunches.load(other, "T1", group_id)[0], organiser,
                                      tuesday, "Europe/Berlin")  # fmt: skip
                assert theirs.agreed

        mine = lunches.pick(clicking, group, organiser, wednesday, "Europe/Berlin")

        assert not mine.agreed and mine.already == tuesday
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == tuesday


def test_the_home_tab_sets_lunch_days_and_time_for_its_owner_only(harness, slack, settings):
    from test_home import open_home

    from bot.edge import home

    make_program(settings, "C1")
    view = open_home(harness, "U1")
    (lunch,) = [b for b in view["blocks"] if b.get("block_id") == "lunch"]
    days, time = lunch["elements"]
    assert [o["value"] for o in days["initial_options"]] == ["mon", "tue", "wed", "thu", "fri"]
    assert time["initial_time"] == "12:00"  # the program's time until they choose
    harness.click(home.LUNCH_DAYS, "tue,thu", user="U1", from_home=True, action_type="checkboxes")
    harness.click(home.LUNCH_TIME, "12:45", user="U1", from_home=True, action_type="timepicker")
    harness.click(home.LUNCH_DAYS, "", user="U1", from_home=True, action_type="checkboxes")
    assert "Keep at least one lunch day" in json.dumps(slack.home_view("T1", "U1"))
    assert "Tuesday, Thursday, at 12:45" in harness.command("days", user="U1").text
    (lunch,) = [b for b in slack.home_view("T1", "U1")["blocks"] if b.get("block_id") == "lunch"]
    assert [o["value"] for o in lunch["elements"][0]["initial_options"]] == ["tue", "thu"]
    assert lunch["elements"][1]["initial_time"] == "12:45"
    (theirs,) = [b for b in open_home(harness, "U2")["blocks"] if b.get("block_id") == "lunch"]
    assert len(theirs["elements"][0]["initial_options"]) == 5  # U2's own, untouched


def test_an_offices_days_limit_the_days_offered_to_people_there(harness, slack, settings):
    from bot.domain.levels.sources import set_value

    assert "only workspace admins" in harness.command("office-days New York tue", user="U1").text
    assert "Give the office's location" in harness.command("office-days New York",
                                                           user="UADMIN").text  # fmt: skip
    saved = harness.command("office-days New  York tue thu", user="UADMIN").text
    assert "*New York* are offered lunch on Tuesday, Thursday only" in saved
    with harness.session() as session:
        for user in ("UADMIN", "U1", "U2", "U3", "U4"):
            set_value(session, "T1", user, "location", "new york", "admin")
    # UADMIN's Slack zone is New York, the others' Berlin: one office still lunches in person
    group_id, conversation, organiser, members = run(harness, slack, settings)
    assert [b["text"]["text"] for b in date_buttons(slack, conversation)] == [
        "Tue 2 Jun, 12:00", "Thu 4 Jun, 12:00"]  # fmt: skip
    assert "any of their lunch days" in harness.command("office-days New York any",
                                                        user="UADMIN").text  # fmt: skip


def test_a_group_across_time_zones_is_offered_a_video_lunch_each_reads_in_their_zone(
    harness, slack, settings
):
    # U1 in Berlin, everyone else in London: an hour apart, lunch-able together (within the
    # program's window) yet not one zone, and U1's group is bound to mix them
    for user in ("UADMIN", "U2", "U3", "U4"):  # as Slack's profiles say; the round reads them
        slack.update_user("T1", user, tz="Europe/London")
    run(harness, slack, settings)
    with harness.session() as session:
        conversation = next(g.conversation_id for g in session.scalars(select(Group))
                            if "U1" in [m.user_id for m in g.members])  # fmt: skip
    intro = slack.messages(conversation)[0]
    (offer,) = [b for b in intro.blocks if "video lunch" in json.dumps(b)]
    text = offer["text"]["text"]
    assert text.count("<!date^") == len(date_buttons(slack, conversation)) >= 1
    assert "{date_short_pretty} at {time}" in text  # Slack shows it in each reader's zone
    assert all("," not in b["text"]["text"] for b in date_buttons(slack, conversation))


LONG_NAMES = ["Александра Владимировна Кузнецова", "Константин Константинович Покровский",
              "Екатерина Александровна Воробьёва", "Святослав Вячеславович Здравомыслов",
              "Анастасия Станиславовна Преображенская", "Владислав Геннадьевич Богословский",
              "Елизавета Ростиславовна Долгорукова", "Всеволод Мстиславович Рождественский"]  # fmt: skip


def test_a_group_of_eight_long_names_is_told_its_lunch_with_links_slack_takes(
    harness, slack, settings
):
    """Eight long Cyrillic names made calendar links of over 3000 characters (URL-encoding
    makes each letter six): Slack refused the message and the lunch was never announced."""
    people = [f"UL{i}" for i in range(8)]
    for user_id, name in zip(people, LONG_NAMES, strict=True):
        slack.add_user("T1", user_id, real_name=name)
    slack.add_channel("T1", "C9", "обед", members=[*people, "UBOT"])
    program_id = make_program(settings, "C9", group_size=8)
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group)).one()
        conversation, organiser = group.conversation_id, group.organiser_id
    button = date_buttons(slack, conversation)[0]
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    links = calendar_links(slack, conversation)
    assert len(links) == 2 and all(len(link) <= 3000 for link in links)
    google = parse_qs(urlsplit(links[0]).query)
    assert google["dates"] == ["20260602T100000Z/20260602T110000Z"] and "обед" in google["details"][0]


def utc(*day_hour_minute) -> dt.datetime:
    return dt.datetime(2026, 6, *day_hour_minute, tzinfo=dt.UTC)


def test_an_old_date_button_after_its_day_says_it_has_passed(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    tuesday = date_buttons(slack, conversation)[0]  # Tue 2 Jun, 12:00 in Berlin
    before = len(slack.messages(conversation))
    with freeze_time(utc(4, 9)):  # Thursday
        result = harness.click(tuesday["action_id"], tuesday["value"], user=organiser,
                               channel=conversation)  # fmt: skip
    assert "has passed, so nothing changed" in result.texts[0]
    assert len(slack.messages(conversation)) == before  # no "Lunch is on" for Tuesday
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at is None


def test_a_round_delivered_late_offers_no_day_that_has_gone(harness, slack, settings):
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1")
    with freeze_time(START + dt.timedelta(hours=23, minutes=30)):  # Tuesday 11:30 UTC
        rounds.run_round(settings, program_id, slot=START)
    with harness.session() as session:
        group = session.scalars(select(Group)).first()
    starts = [int(b["value"].split(":")[1]) for b in date_buttons(slack, group.conversation_id)]
    assert starts and min(starts) > (START + dt.timedelta(hours=23, minutes=30)).timestamp()


def test_a_lunch_on_the_last_day_offered_is_still_asked_about(harness, slack, settings):
    """A Friday round offers up to Thursday; the day-after question for a Thursday lunch
    came as the round closed, which drops it: never asked, and counted as silent."""
    from bot.jobs.clock import Clock

    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", weekday=4, timezone="Europe/Berlin")
    friday = utc(5, 10)  # 12:00 in Berlin
    with freeze_time(friday):
        rounds.run_round(settings, program_id, slot=friday)
    with harness.session() as session:
        group = session.scalars(select(Group)).first()
        group_id, conversation, organiser = group.id, group.conversation_id, group.organiser_id
        closes = group.round.closes_at
    with freeze_time(friday + dt.timedelta(hours=1)):
        harness.click(round_messages.LUNCH_NONE, str(group_id), user=organiser,
                      channel=conversation)  # fmt: skip
        more = slack.messages(conversation)[-1].blocks
        (thursday,) = [e for b in more if b["type"] == "actions" for e in b["elements"]
                       if "Thu 11 Jun" in e["text"]["text"]]  # the last day offered
        harness.click(thursday["action_id"], thursday["value"], user=organiser,
                      channel=conversation)  # fmt: skip
    assert closes == utc(12, 10)
    for moment in (closes - dt.timedelta(minutes=59), closes + dt.timedelta(minutes=1)):
        Clock(settings).tick(moment)
    assert "Did you get to meet?" in follow_ups(slack, conversation)


def test_a_group_that_answered_gets_no_day_picked_and_no_reminder(harness, slack, settings):
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    harness.click(round_messages.CHECKIN_COULDNT, str(group_id), user=members[0],
                  channel=conversation)  # fmt: skip
    before = follow_ups(slack, conversation)
    for day, hour in ((3, 12), (4, 9), (5, 11)):
        Clock(settings).tick(utc(day, hour, 1))
    assert follow_ups(slack, conversation) == before  # no "I picked", no "Lunch today"


def test_a_not_yet_after_we_cant_make_it_brings_the_reminder_and_question_back(
    harness, slack, settings
):
    """One member said "We can't make it", another then "Not yet": the lunch is on again,
    and it is reminded on its day and asked about the day after."""
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    wednesday = date_buttons(slack, conversation)[1]  # Wed 3 Jun, 12:00 in Berlin
    harness.click(wednesday["action_id"], wednesday["value"], user=organiser,
                  channel=conversation)  # fmt: skip
    other = next(u for u in members if u != organiser)
    harness.click(round_messages.CHECKIN_COULDNT, str(group_id), user=other, channel=conversation)
    harness.click(round_messages.CHECKIN_NOT_YET, str(group_id), user=organiser,
                  channel=conversation)  # fmt: skip
    before = len(follow_ups(slack, conversation))
    for day, hour in ((3, 8), (4, 11)):  # the morning of the lunch, the day after
        Clock(settings).tick(utc(day, hour, 1))
    new = follow_ups(slack, conversation)[before:]
    assert len(new) == 2 and "Did you get to meet?" in new[1], new


def test_an_agreed_day_is_announced_even_when_a_name_cannot_be_read(harness, slack, settings):
    """The day was stored, then reading a name for the calendar links failed, and "Lunch
    is on" never came: a second click said the lunch was already on."""
    group_id, conversation, organiser, members = run(harness, slack, settings)
    button = date_buttons(slack, conversation)[1]
    slack.update_user("T1", members[-1], visible=False)  # Slack: user_not_visible
    slack.fail_next("users.info", error="internal_error")
    before = len(slack.messages(conversation))
    with freeze_time(START + dt.timedelta(minutes=5)):
        harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    (agreed,) = slack.messages(conversation)[before:]
    assert "Lunch is on" in agreed.text
    links = {e["action_id"]: e for e in agreed.blocks[1]["elements"]}
    assert "calendar.google.com" in links["calendar_google"]["url"]


def test_reschedule_after_the_round_closed_changes_nothing(harness, slack, settings):
    group_id, conversation, organiser, members = run(harness, slack, settings)
    button = date_buttons(slack, conversation)[0]
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    with harness.session() as session:
        group = session.get(Group, group_id)
        agreed = group.lunch_at
        group.round.closed_at = utc(8, 12)
    before = len(slack.messages(conversation))
    result = harness.click(round_messages.LUNCH_RESCHEDULE, str(group_id), user=members[0],
                           channel=conversation)  # fmt: skip
    assert "This round is over" in result.texts[0]
    assert len(slack.messages(conversation)) == before
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == agreed


def test_a_video_lunch_button_names_the_organisers_day_not_utcs():
    """A Sydney-Auckland pair's Tuesday 09:00 (Sydney) is Monday in UTC: the button said
    "Mon 12 Jan", the intro's own day."""
    from bot.domain.lunch_dates import Offer

    tuesday_nine = dt.datetime(2026, 1, 12, 22, tzinfo=dt.UTC)  # 09:00 Tue 13 Jan in Sydney
    blocks = round_messages.date_blocks(7, [Offer(tuesday_nine, video=True)], "Australia/Sydney")
    (button, _none) = blocks[1].elements
    assert button.text.text == "Tue 13 Jan"


def test_a_morning_lunch_is_reminded_before_it_starts(harness, slack, settings):
    """The reminder came at 10:00 on the day, an hour after a 09:00 lunch had begun."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", time_of_day="09:00", timezone="Europe/Berlin")
    with freeze_time(utc(1, 7)):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group)).first()
        conversation, organiser, group_id = group.conversation_id, group.organiser_id, group.id
    button = date_buttons(slack, conversation)[0]  # Tue 2 Jun, 09:00 in Berlin
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    with harness.session() as session:
        group = session.get(Group, group_id)
        assert group.lunch_at == utc(2, 7) and group.remind_at == utc(2, 6)


def test_the_calendar_links_never_name_someone_who_asked_to_be_forgotten(
    harness, slack, settings
):
    """One of the group asked to be forgotten; the organiser then set the day, and everyone's
    calendar event read "Lunch: Ada, forgotten-3f9c…", the placeholder that replaced them."""
    from bot.edge import home

    group_id, conversation, organiser, members = run(harness, slack, settings)
    gone = next(u for u in members if u != organiser)
    harness.click(home.FORGET_ME, "confirm", user=gone)
    button = date_buttons(slack, conversation)[0]
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    google, outlook = (parse_qs(urlsplit(link).query) for link in calendar_links(slack, conversation))
    assert "forgotten" not in json.dumps([google, outlook])
    assert gone not in json.dumps([google, outlook])
    assert google["text"][0].startswith("Lunch: ")


def test_none_of_these_late_in_a_two_week_round_offers_no_day_that_has_gone(
    harness, slack, settings
):
    """A two-week round: the intro offered the first Tuesday to Thursday; "None of these"
    pressed in the second week offered the first week's Friday and the second week's Monday
    and Tuesday, all gone, and a click on them only said so."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", cadence="biweekly", anchor_date=START.date(),
                              timezone="Europe/Berlin")  # fmt: skip
    with freeze_time(START):
        rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        group = session.scalars(select(Group).order_by(Group.id)).first()
        group_id, conversation, member = group.id, group.conversation_id, group.members[0].user_id
        assert group.round.closes_at == START + dt.timedelta(weeks=2)
    wednesday = utc(10, 13)  # the second week's Wednesday, after lunch in Berlin
    with freeze_time(wednesday):
        harness.click(round_messages.LUNCH_NONE, str(group_id), user=member, channel=conversation)
    more = slack.messages(conversation)[-1].blocks
    starts = [int(e["value"].split(":")[1]) for b in more if b["type"] == "actions"
              for e in b["elements"] if e["action_id"].startswith(round_messages.LUNCH_PICK)]  # fmt: skip
    labels = [e["text"]["text"] for b in more if b["type"] == "actions" for e in b["elements"]]
    assert starts and min(starts) > wednesday.timestamp(), labels
    assert labels == ["Thu 11 Jun, 12:00", "Fri 12 Jun, 12:00", "None of these"]


def test_the_app_never_picks_a_day_someone_said_they_cannot_make(harness, slack, settings):
    """Someone pressed "None of these" under the intro's Tuesday to Thursday and was offered
    Friday; nobody picked, and two working days later the app picked Thursday "that suits
    everyone", a day they had just said they could not make."""
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    harness.click(round_messages.LUNCH_NONE, str(group_id), user=members[-1], channel=conversation)
    Clock(settings).tick(utc(3, 12, 1))
    (more, picked) = follow_ups(slack, conversation)
    assert "can't make those days" in more
    assert "Nobody had picked a day yet" in picked and "<!date^1780653600^" in picked  # Fri 12:00
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at == utc(5, 10)


def test_when_every_day_was_turned_down_the_app_picks_none(harness, slack, settings):
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    for _ in range(2):  # Tuesday to Thursday, then Friday: no day left in the round
        harness.click(round_messages.LUNCH_NONE, str(group_id), user=members[-1],
                      channel=conversation)  # fmt: skip
    before = follow_ups(slack, conversation)
    Clock(settings).tick(utc(3, 12, 1))
    assert follow_ups(slack, conversation) == before
    with harness.session() as session:
        assert session.get(Group, group_id).lunch_at is None


def test_a_day_agreed_after_we_cant_make_it_is_reminded_and_asked_about(harness, slack, settings):
    """One member pressed "We can't make it"; the organiser then set Friday from the next
    days offered. The group read "Lunch is on: Friday. Enjoy!", but got no reminder that
    morning and no "did you meet?" after, and the round counted them as not having met."""
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    other = next(u for u in members if u != organiser)
    harness.click(round_messages.LUNCH_NONE, str(group_id), user=other, channel=conversation)
    (friday,) = [e for b in slack.messages(conversation)[-1].blocks if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"].startswith(round_messages.LUNCH_PICK)]  # fmt: skip
    harness.click(round_messages.CHECKIN_COULDNT, str(group_id), user=other, channel=conversation)
    harness.click(friday["action_id"], friday["value"], user=organiser, channel=conversation)
    assert "Lunch is on" in slack.messages(conversation)[-1].text
    before = len(follow_ups(slack, conversation))
    for day, hour in ((5, 8), (6, 10)):  # Friday's morning in Berlin, the day after
        Clock(settings).tick(utc(day, hour, 1))
    new = follow_ups(slack, conversation)[before:]
    assert len(new) == 2 and "Lunch today" in new[0] and "Did you get to meet?" in new[1], new


@pytest.mark.parametrize("answer", [round_messages.CHECKIN_MET, round_messages.CHECKIN_COULDNT])
def test_an_answer_on_the_intro_takes_its_offer_of_days_with_its_buttons(
    harness, slack, settings, answer
):
    """"We met" (or "We can't make it") on the intro took the day buttons away, and the
    intro still read "Days that suit everyone's lunch days: pick one", with nothing to pick."""
    group_id, conversation, organiser, members = run(harness, slack, settings)
    intro = slack.messages(conversation)[0]
    harness.click(answer, str(group_id), user=members[0], channel=conversation,
                  message_ts=intro.ts, message={"ts": intro.ts, "text": intro.text,
                                                "blocks": intro.blocks})  # fmt: skip
    after = next(m for m in slack.messages(conversation) if m.ts == intro.ts)
    shown = " ".join(b["text"]["text"] for b in after.blocks if b["type"] == "section")
    assert "📅" not in shown and "pick one" not in shown, shown
    assert "To get you started" in shown and f"<@{members[0]}> says" in shown
    assert not [b for b in after.blocks if b.get("block_id", "").startswith("dates-")]


def test_an_intro_sent_before_its_offer_was_named_loses_it_too():
    """Intros already in Slack carry the offer as a section without a block_id of ours."""
    from bot.domain.lunch_dates import Offer

    _, blocks = round_messages.intro("C1", ["U1", "U2"], "U1", "Tea?", "why", 7,
                                     dates=[Offer(START + dt.timedelta(days=1), False)], zone="UTC")  # fmt: skip
    for block in blocks:
        if block.get("block_id", "").startswith("offer-"):
            block["block_id"] = "Xy1z"  # as Slack names a block sent without one
    _, after = round_messages.answered_on(blocks, "met", "U2", 7)
    assert "pick one" not in json.dumps(after) and "To get you started" in json.dumps(after)


def test_none_of_these_after_the_day_was_agreed_says_so_and_offers_nothing(
    harness, slack, settings
):
    """"None of these" on the intro after the organiser set Wednesday posted new days; a
    click on one only said the lunch was already on."""
    group_id, conversation, organiser, members = run(harness, slack, settings)
    wednesday = date_buttons(slack, conversation)[1]
    harness.click(wednesday["action_id"], wednesday["value"], user=organiser, channel=conversation)
    before = len(slack.messages(conversation))
    other = next(u for u in members if u != organiser)
    result = harness.click(round_messages.LUNCH_NONE, str(group_id), user=other,
                           channel=conversation)  # fmt: skip
    (told,) = result.responses
    assert told["response_type"] == "ephemeral"
    assert told["text"].startswith("🗓️ Lunch is already on <!date^1780480800^")  # Wed 12:00
    assert told["text"].endswith("press Reschedule under that message.")
    assert len(slack.messages(conversation)) == before
    with harness.session() as session:
        group = session.get(Group, group_id)
        assert group.lunch_at == utc(3, 10)
        assert not any(o.get("declined") for o in group.offered)


def leaves_the_company(harness, slack, user: str) -> None:
    """Their account is deactivated, and Slack says so (user_change)."""
    slack.update_user("T1", user, deleted=True)
    harness.event({"type": "user_change", "user": {"id": user, "team_id": "T1",
                                                   "deleted": True}})  # fmt: skip


def groups_of(harness, size: int) -> list[tuple[int, str, str, list[str]]]:
    with harness.session() as session:
        return [(g.id, g.conversation_id, g.organiser_id, [m.user_id for m in g.members])
                for g in session.scalars(select(Group).order_by(Group.id))
                if len(g.members) == size]  # fmt: skip


def test_when_the_organiser_has_left_the_company_someone_still_here_confirms(
    harness, slack, settings
):
    """The organiser's account was deactivated: the trio's date messages still said they
    "can confirm for the group", and in a pair the one still here could never set a day."""
    slack.add_member("T1", "C1", "U5")
    run(harness, slack, settings, group_size=3)
    (_, trio_dm, trio_organiser, trio), = groups_of(harness, 3)
    (pair_id, pair_dm, pair_organiser, pair), = groups_of(harness, 2)
    leaves_the_company(harness, slack, trio_organiser)
    leaves_the_company(harness, slack, pair_organiser)

    first, second = [u for u in trio if u != trio_organiser]
    button = date_buttons(slack, trio_dm)[0]
    harness.click(button["action_id"], button["value"], user=second, channel=trio_dm)
    proposed = slack.messages(trio_dm)[-1].text
    assert f"<@{second}> can do" in proposed and f"<@{first}> can confirm" in proposed, proposed
    assert trio_organiser not in proposed
    harness.click(button["action_id"], button["value"], user=first, channel=trio_dm)
    assert "Lunch is on" in slack.messages(trio_dm)[-1].text

    (still_here,) = [u for u in pair if u != pair_organiser]
    button = date_buttons(slack, pair_dm)[1]
    harness.click(button["action_id"], button["value"], user=still_here, channel=pair_dm)
    assert "Lunch is on" in slack.messages(pair_dm)[-1].text
    with harness.session() as session:
        assert session.get(Group, pair_id).lunch_at == utc(3, 10)


@pytest.mark.parametrize("unknown", ["user_not_found", "user_not_visible"])
def test_the_calendar_links_leave_out_someone_slack_cannot_name(harness, slack, settings,
                                                                unknown):  # fmt: skip
    """Slack answered users.info for one of the group with user_not_found: the calendar
    event read "Lunch: Ada Lovelace, U3", their raw user id standing in for a name."""
    slack.add_member("T1", "C1", "U5")
    group_id, conversation, organiser, members = run(harness, slack, settings, group_size=3)
    names = {u: f"Person {u}" for u in members}
    for user, name in names.items():
        slack.update_user("T1", user, real_name=name)
    unknown_one = next(u for u in members if u != organiser)
    if unknown == "user_not_found":
        slack.remove_user("T1", unknown_one)
    else:
        slack.update_user("T1", unknown_one, visible=False)
    button = date_buttons(slack, conversation)[0]
    harness.click(button["action_id"], button["value"], user=organiser, channel=conversation)
    agreed = slack.messages(conversation)[-1]
    assert "Lunch is on" in agreed.text
    google = parse_qs(urlsplit(agreed.blocks[1]["elements"][0]["url"]).query)
    named = ", ".join(names[u] for u in members if u != unknown_one)
    assert google["text"] == [f"Lunch: {named}"], google["text"]
    assert unknown_one not in json.dumps(google)


def checkins(slack, conversation) -> int:
    return sum(t == "Did you get to meet?" for t in follow_ups(slack, conversation))


def agree_friday(harness, slack, group_id, conversation, organiser) -> None:
    """The organiser turns the intro's days down and agrees Friday 5 June, after the
    round's own check-in (Thursday 4 June, 12:00 UTC)."""
    harness.click(round_messages.LUNCH_NONE, str(group_id), user=organiser, channel=conversation)
    pick_friday(harness, slack, conversation, organiser)


def pick_friday(harness, slack, conversation, organiser) -> None:
    """The organiser picks Friday 5 June among the days the last message offers."""
    more = slack.messages(conversation)[-1].blocks
    (friday,) = [e for b in more if b["type"] == "actions" for e in b["elements"]
                 if "Fri 5 Jun" in e["text"]["text"]]  # fmt: skip
    harness.click(friday["action_id"], friday["value"], user=organiser, channel=conversation)


@pytest.mark.parametrize("again", ["no day", "a new day"])
def test_reschedule_after_the_rounds_check_in_still_gets_one_check_in(
    harness, slack, settings, again
):
    """A group with a day passed over the round's check-in; "Reschedule" after it cleared
    the day-after question, and with no day agreed again nobody was ever asked (and the
    group counted as silent)."""
    from bot.jobs.clock import Clock

    group_id, conversation, organiser, members = run(harness, slack, settings)
    agree_friday(harness, slack, group_id, conversation, organiser)
    clock = Clock(settings)
    clock.tick(utc(4, 12, 1))  # the round's check-in: not for a group with a day
    assert checkins(slack, conversation) == 0
    with freeze_time(utc(4, 15)):
        harness.click(round_messages.LUNCH_RESCHEDULE, str(group_id), user=members[-1],
                      channel=conversation)  # fmt: skip
        if again == "a new day":  # the days from now on: Friday again
            pick_friday(harness, slack, conversation, organiser)
    for moment in (utc(4, 15, 1), utc(4, 15, 2), utc(5, 9), utc(6, 10, 1), utc(6, 10, 2),
                   utc(8, 11, 1), utc(8, 12, 1)):  # fmt: skip
        clock.tick(moment)
        if moment == utc(4, 15, 1):  # no day: asked at once, as the round's time has passed
            assert checkins(slack, conversation) == (1 if again == "no day" else 0)
    assert checkins(slack, conversation) == 1
