"""Lunches that happen: the dates an intro offers, votes on them, and the date agreed.

The dates come from `bot.domain.lunch_dates` (pure); this module reads who is in the group (their
zone, lunch days and time), keeps what was offered on the group, so a click can only choose
an offered date, and decides when a date is agreed: when everyone in the group has chosen
it, or when the organiser chooses it for the group.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.domain import lunch_dates
from bot.domain.lunch_dates import Diner, Offer
from bot.domain.schedule import local_date
from bot.slack.client import reason, slack_user
from bot.storage.db import hold
from bot.storage.models import (
    FORGOTTEN_PREFIX,
    Group,
    LunchVote,
    Member,
    OfficeDays,
    Program,
    Round,
    utcnow,
)

log = logging.getLogger(__name__)
AUTO_AFTER_WORKING_DAYS = 2
REMIND_AT = dt.time(10, 0)  # the morning of the day, in the organiser's zone
# The day-after question comes before the round closes: once it has closed nothing is asked,
# and a lunch on the last day offered was never asked about (and counted as silent).
CHECK_BEFORE_CLOSE = dt.timedelta(hours=1)
ANSWERED = ("met", "couldnt")  # outcomes after which nothing is planned or asked


def _time(text: str | None, default: dt.time) -> dt.time:
    try:
        hours, minutes = (int(part) for part in (text or "").split(":"))
        return dt.time(hours, minutes)
    except ValueError:
        return default


def diners(
    session: Session, group: Group, program: Program, rows: dict[str, Member] | None = None
) -> list[Diner]:
    """The group as the date finder sees it, organiser first (`rows`: their Member rows,
    when the caller has them already)."""
    ids = [m.user_id for m in group.members if not m.user_id.startswith(FORGOTTEN_PREFIX)]
    ids.sort(key=lambda u: u != group.organiser_id)
    if rows is None:
        rows = {
            m.user_id: m
            for m in session.scalars(
                select(Member).where(Member.team_id == program.team_id, Member.user_id.in_(ids))
            )
        }
    default = _time(program.time_of_day, lunch_dates.DEFAULT_TIME)
    offices = office_days(session, program.team_id)
    found = []
    for user_id in ids:
        member = rows.get(user_id)
        days = lunch_dates.WORKDAYS
        if member is not None and member.lunch_days:
            days = lunch_dates.parse_days([member.lunch_days])
        if member is not None and member.location:  # in the office only on its days
            days = days & offices.get(location_key(member.location), days)
        found.append(Diner(
            user_id=user_id,
            zone=(member.timezone if member is not None and member.timezone else program.timezone),
            days=days,
            lunch_time=_time(member.lunch_time if member else None, default),
        ))  # fmt: skip
    places = {location_key(rows[u].location) if u in rows and rows[u].location else None
              for u in ids}  # fmt: skip
    if len(places) == 1 and None not in places and found:  # one office: lunch in person there
        found = [replace(d, zone=found[0].zone) for d in found]
    return found


def location_key(location: str) -> str:
    return " ".join(location.split()).casefold()


def office_days(session: Session, team_id: str) -> dict[str, frozenset[int]]:
    return {
        row.location_key: lunch_dates.parse_days([row.days])
        for row in session.scalars(select(OfficeDays).where(OfficeDays.team_id == team_id))
    }


def set_office_days(
    session: Session, team_id: str, location: str, days: frozenset[int] | None
) -> None:
    """An office's lunch days (None: no limit any more)."""
    key = location_key(location)
    row = session.scalar(select(OfficeDays).where(
        OfficeDays.team_id == team_id, OfficeDays.location_key == key))  # fmt: skip
    if days is None:
        if row is not None:
            session.delete(row)
        return
    text = ",".join(lunch_dates.WEEKDAYS[d] for d in sorted(days))
    if row is None:
        session.add(OfficeDays(team_id=team_id, location_key=key, location=location, days=text))
    else:
        row.location, row.days = location, text


def zone_of(people: list[Diner], program: Program) -> str:
    """The zone a group's days are written in: its organiser's (the group shares it when
    its times are shown on the buttons)."""
    return people[0].zone if people else program.timezone


def offer(session: Session, group: Group, program: Program, round_: Round,
          after: dt.datetime | None = None, people: list[Diner] | None = None) -> list[Offer]:  # fmt: skip
    """Dates in the rest of the round that everyone can make (after `after`, if given);
    they are added to what the group was offered."""
    people = diners(session, group, program) if people is None else people
    if not people:
        return []
    zone = people[0].zone
    first = local_date(round_.slot, zone) + dt.timedelta(days=1)
    last = local_date(round_.closes_at or round_.slot + dt.timedelta(days=7), zone)
    found = lunch_dates.offers(people, first, last - dt.timedelta(days=1), after=after)
    if group.offered is None and found:  # the intro's days: picked for them if nobody does
        group.auto_at = working_days_after(round_.slot, people[0].zone, AUTO_AFTER_WORKING_DAYS)
    group.offered = [*(group.offered or []),
                     *({"start": o.start.isoformat(), "video": o.video} for o in found)]  # fmt: skip
    return found


@dataclass(frozen=True)
class More:
    dates: list[Offer]
    people: list[Diner]
    already: dt.datetime | None = None  # "None of these" after this day was agreed: nothing changed


def more(session: Session, group: Group, program: Program, round_: Round, again: bool) -> More:
    """"None of these" (the days after those offered) or "Reschedule" (`again`: the day
    agreed and every vote gone, days from now on). Never a day that has gone: in a two-week
    round, the days after those the intro offered may have passed by the time of the click.
    "None of these" once a day is agreed changes nothing (Reschedule moves it)."""
    if not again and group.lunch_at is not None:
        return More([], [], already=group.lunch_at)
    if again:
        reschedule(session, group)
    else:  # someone can't make those days: the clock's pick is never one of them
        group.offered = [{**o, "declined": True} for o in group.offered or []]
    after = max([*([] if again else offered(group)), utcnow()])
    people = diners(session, group, program)
    return More(offer(session, group, program, round_, after=after, people=people), people)


def offers_of(group: Group) -> list[Offer]:
    return [Offer(dt.datetime.fromisoformat(o["start"]), bool(o.get("video")))
            for o in group.offered or []]  # fmt: skip


def offered(group: Group) -> list[dt.datetime]:
    return [o.start for o in offers_of(group)]


def not_declined(group: Group) -> list[dt.datetime]:
    """The days offered that nobody turned down with "None of these": the clock picks only
    among them."""
    return [dt.datetime.fromisoformat(o["start"]) for o in group.offered or []
            if not o.get("declined")]  # fmt: skip


@dataclass(frozen=True)
class Pick:
    agreed: bool
    start: dt.datetime
    waiting_for: list[str]  # who has not chosen this date yet
    already: dt.datetime | None = None  # the day agreed before this click
    gone: bool = False  # the date has passed: nothing changed
    again: bool = False  # they had chosen this date before: the group was told then


def working_days_after(moment: dt.datetime, zone: str, days: int) -> dt.datetime:
    """The same local time `days` working days (Monday to Friday) later."""
    local = moment.astimezone(ZoneInfo(zone))
    while days:
        local += dt.timedelta(days=1)
        days -= local.weekday() < 5
    return local.astimezone(dt.UTC)


def agree(session: Session, group: Group, start: dt.datetime, zone: str) -> bool:
    """The day is set, once: a reminder on its morning (an hour before a video lunch) and
    the check-in the day after, instead of the round's. False, and nothing changed, when a
    day was set first (a click or the clock's pick that committed in between)."""
    video = next((o.video for o in offers_of(group) if o.start == start), False)
    remind = start - dt.timedelta(hours=1)
    if not video:  # the morning of the day, unless the lunch is earlier than that
        day = start.astimezone(ZoneInfo(zone)).date()
        morning = dt.datetime.combine(day, REMIND_AT, ZoneInfo(zone)).astimezone(dt.UTC)
        remind = min(morning, remind)
    check = start + dt.timedelta(days=1)
    closes = group.round.closes_at
    if closes is not None:  # a lunch on the round's last day is still asked about
        check = min(check, closes - CHECK_BEFORE_CLOSE)
    done = session.execute(
        update(Group).where(Group.id == group.id, Group.lunch_at.is_(None))
        .values(lunch_at=start, auto_at=None, remind_at=remind, check_at=check)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    session.refresh(group)
    return bool(done)


def pick(
    session: Session, group: Group, user_id: str, start: dt.datetime, zone: str = "UTC"
) -> Pick | None:
    """A member chooses an offered date; None if it was never offered to this group. Once a
    day is agreed the buttons no longer move it (Reschedule does): the Pick says which."""
    if start not in offered(group):
        return None
    if group.lunch_at is not None:
        return Pick(False, start, [], already=group.lunch_at)
    if start <= utcnow():  # an old button: that day has gone
        return Pick(False, start, [], gone=True)
    exists = session.scalar(select(LunchVote.id).where(
        LunchVote.group_id == group.id, LunchVote.user_id == user_id, LunchVote.start == start))  # fmt: skip
    if exists is not None:
        return Pick(False, start, [], again=True)
    session.add(LunchVote(group_id=group.id, user_id=user_id, start=start))
    session.flush()
    voters = set(session.scalars(
        select(LunchVote.user_id).where(LunchVote.group_id == group.id, LunchVote.start == start)))  # fmt: skip
    here = still_here(session, group)  # someone whose account is gone picks nothing
    waiting = [u for u in here if u not in voters]
    if not waiting or user_id == organiser_of(session, group, here):
        if not agree(session, group, start, zone):
            return Pick(False, start, waiting, already=group.lunch_at)
        if group.outcome == "couldnt":  # the lunch is on again, as after a "Not yet": the
            group.outcome = "not_yet"  # day is reminded and asked about, the latest word wins
            group.outcome_by, group.outcome_at = user_id, utcnow()
        return Pick(True, start, waiting)
    return Pick(False, start, waiting)


def hold_group(session: Session, group: Group) -> None:
    """Until this transaction ends, another click on the group waits, then sees what this
    one wrote ("None of these" twice at once offered the same days twice, and lost the
    first set from what the group was offered). Its round is held first, as closing it and
    sending its check-ins hold it: "Reschedule" may give the round's check-in back."""
    hold(session, Round, Round.id == group.round_id)
    hold(session, Group, Group.id == group.id)
    session.refresh(group)


def still_here(session: Session, group: Group) -> list[str]:
    """The group's members still in the workspace: not forgotten, their account not
    deactivated."""
    ids = [m.user_id for m in group.members if not m.user_id.startswith(FORGOTTEN_PREFIX)]
    gone = set(session.scalars(select(Member.user_id).where(
        Member.team_id == group.round.program.team_id, Member.user_id.in_(ids),
        Member.deactivated.is_(True))))  # fmt: skip
    return [u for u in ids if u not in gone]


def organiser_of(session: Session, group: Group, here: list[str] | None = None) -> str | None:
    """Who may confirm a day for the group: its organiser, or once their account is
    deactivated, the first of the others still here (`here`: still_here, when the caller
    has it); None once the organiser asked to be forgotten."""
    organiser = group.organiser_id
    if not organiser or organiser.startswith(FORGOTTEN_PREFIX):
        return None
    here = still_here(session, group) if here is None else here
    return organiser if organiser in here else next(iter(here), None)


def still_planned(round_: Round) -> bool:
    """Whether a group's lunch may still be planned: until its round closes; after that it
    is history, kept in the stats, and "Reschedule" or "None of these" change nothing."""
    return round_.closed_at is None


def reschedule(session: Session, group: Group) -> None:
    """Back to choosing: the agreed date and every vote are gone. A group not asked "did
    you meet?" yet is asked again as the round asks everyone: the day after a day agreed
    anew, else at the round's check-in, at the next tick if that time has passed (the
    round's check-in had left out the group with a day, and a Reschedule after it meant
    nobody was ever asked). The caller holds the round (hold_group)."""
    group.lunch_at = group.remind_at = group.check_at = None
    session.execute(delete(LunchVote).where(LunchVote.group_id == group.id))
    if group.checkin_ts is None:
        session.execute(
            update(Round).where(Round.id == group.round_id, Round.checkin_sent_at.is_not(None))
            .values(checkin_sent_at=None).execution_options(synchronize_session=False)
        )  # fmt: skip


def load(session: Session, team_id: str, group_id: int) -> tuple[Group, Program, Round] | None:
    row = session.execute(
        select(Group, Program, Round)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .where(Group.id == group_id, Program.team_id == team_id)
    ).first()
    return tuple(row) if row else None


def calendar_links(client, start: dt.datetime, members: list[str], channel_id: str):
    """Google and Outlook links for the agreed lunch: title, time, names and channel. Names
    Slack will not give (it refused, or was out of reach) are left out, as over-long ones
    are: the day is stored already, and must be announced. Someone who asked to be forgotten
    is not named at all (their placeholder is nobody's name), nor is someone Slack does not
    know or show (their user id is nobody's name either)."""
    names = []
    for user_id in (u for u in members if not u.startswith(FORGOTTEN_PREFIX)):
        try:
            user = slack_user(client, user_id) or {}
        except (SlackApiError, OSError) as error:
            log.warning("the calendar links name nobody: a name could not be read (%s)",
                        reason(error))  # fmt: skip
            names = []
            break
        profile = user.get("profile") or {}
        name = profile.get("real_name") or user.get("real_name") or user.get("name")
        if name:
            names.append(name)
    try:
        channel = "#" + client.conversations_info(channel=channel_id)["channel"]["name"]
    except SlackApiError:
        channel = "your lunch channel"
    return lunch_dates.calendar_links(Offer(start, video=False), names, channel)


def send_due(settings, now: dt.datetime) -> int:
    """The clock's part: pick a day where nobody has, remind on the day, ask the day after.
    Each is claimed in the database before its message goes out, so it is sent at most once
    however many clocks run."""
    from bot.domain.services.workspaces import clients_for_teams
    from bot.slack import round_messages
    from bot.storage.db import session_scope

    url = settings.database_url
    with session_scope(url) as session:
        rows = session.execute(
            select(Group.id, Group.auto_at, Group.remind_at, Group.check_at, Program.team_id)
            .join(Round, Round.id == Group.round_id)
            .join(Program, Program.id == Round.program_id)
            .where((Group.auto_at <= now) | (Group.remind_at <= now) | (Group.check_at <= now))
            .order_by(Group.id)
        ).all()
    client_of = clients_for_teams(settings)
    sent = 0
    for group_id, auto_at, remind_at, check_at, team_id in rows:
        for column, value in (("auto_at", auto_at), ("remind_at", remind_at),
                              ("check_at", check_at)):  # fmt: skip
            if value is None or value > now:
                continue
            try:  # own transaction: committed before the post, never undone by another's failure
                with session_scope(url) as session:
                    claimed = session.execute(
                        update(Group).where(Group.id == group_id, getattr(Group, column) == value)
                        .values({column: None}).execution_options(synchronize_session=False)
                    ).rowcount  # fmt: skip
                    message = claimed and _follow_up(session, column, group_id, now)
            except Exception:  # not claimed after all: tried again at the next tick
                log.exception("lunch follow-up (%s) of group %s failed", column, group_id)
                continue
            if not message:
                continue
            text, blocks = message.text, message.blocks
            try:
                client = client_of(team_id)
                if column == "auto_at":
                    links = calendar_links(client, message.start, message.members, message.channel_id)
                    text, blocks = round_messages.lunch_agreed(group_id, message.start, *links,
                                                               picked=True)  # fmt: skip
                response = client.chat_postMessage(channel=message.conversation, text=text,
                                                   blocks=blocks)  # fmt: skip
                if column == "check_at":
                    with session_scope(url) as session:
                        session.get(Group, group_id).checkin_ts = response["ts"]
                sent += 1
            except Exception as error:  # one group's trouble must not stop the others
                log.warning("lunch follow-up (%s) of group %s failed: %s", column, group_id,
                            reason(error))  # fmt: skip
    return sent


@dataclass(frozen=True)
class FollowUp:
    """A claimed follow-up's message and where it goes (an auto-pick's text is made later,
    with the calendar links)."""

    conversation: str
    text: str
    blocks: list | None
    members: list[str]
    channel_id: str
    start: dt.datetime | None


def _follow_up(session: Session, column: str, group_id: int, now: dt.datetime) -> FollowUp | None:
    """What to post for one claimed follow-up, or None when it no longer applies."""
    from bot.slack import round_messages

    group, program, round_ = session.execute(
        select(Group, Program, Round)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .where(Group.id == group_id)
    ).one()
    if group.conversation_id is None or round_.closed_at is not None:
        return None
    if group.outcome in ANSWERED:  # nothing left to plan: no day picked for them, no
        return None  # reminder, no question (kept for a "Not yet" that takes it back)
    members = [m.user_id for m in group.members if not m.user_id.startswith(FORGOTTEN_PREFIX)]
    base = FollowUp(group.conversation_id, "", None, members, program.channel_id, group.lunch_at)
    if column == "auto_at":
        if group.lunch_at is not None or not program.auto_schedule:
            return None
        start = next((s for s in not_declined(group) if s > now + dt.timedelta(hours=1)), None)
        if start is None:
            return None
        if not agree(session, group, start, zone_of(diners(session, group, program), program)):
            return None  # a person agreed a day in the meantime
        return replace(base, start=start)
    if column == "remind_at":
        if group.lunch_at is None or group.lunch_at <= now:  # a clock down that morning
            return None
        text, blocks = round_messages.lunch_reminder(group.lunch_at)
        return replace(base, text=text, blocks=blocks)
    # A check-in of the round sent before this day was agreed (a Friday round's, on Monday)
    # does not stand for it: only an answer does.
    if group.lunch_at is None:
        return None
    text, blocks = round_messages.checkin(group.id)
    return replace(base, text=text, blocks=blocks)

