"""Who takes part in a round: the channel's members now, minus those who should not be paired.

Membership is read live from Slack at every round (joining the channel is the opt-in), and
profiles are refreshed in the same pass so time zones and titles are never stale. The member
list is kept on the way, so counting between rounds asks Slack nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.levels.profiles import TITLE_MAX, field_labels, sync_profiles
from bot.domain.levels.sources import apply, one_line
from bot.domain.levels.titles import rules_for
from bot.domain.schedule import known_zone, local_date
from bot.domain.services import membership
from bot.domain.services.pacing import Pacer
from bot.domain.services.people import paused_on
from bot.slack.client import UNKNOWN_PERSON
from bot.storage.db import end_read, insert_missing
from bot.storage.models import (
    ChannelMember,
    Member,
    Participation,
    Program,
    Workspace,
    utcnow,
)

log = logging.getLogger(__name__)

# Above this many members one users.list walk is cheaper than a users.info call each.
USERS_LIST_THRESHOLD = 50


@dataclass
class Roster:
    """The people of one round, and why everyone else was left out (by reason, for logs)."""

    members: list[Member] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def user_ids(self) -> list[str]:
        return [m.user_id for m in self.members]


class ChannelUnreadable(SlackApiError):
    """Slack would not say who is in a program's channel: an error, never an empty channel."""

    def __init__(self, channel_id: str, error: SlackApiError):
        super().__init__(f"cannot read the members of {channel_id}", error.response)
        self.channel_id = channel_id
        self.code = str(error.response.get("error") or "unknown_error")


def channel_member_ids(client: WebClient, channel_id: str) -> list[str]:
    """Every member of a channel, all pages (slack_sdk follows the cursors)."""
    ids: list[str] = []
    try:
        for page in client.conversations_members(channel=channel_id, limit=1000):
            ids.extend(page.get("members", []))
    except SlackApiError as error:
        raise ChannelUnreadable(channel_id, error) from None
    return ids


def fetch_users(
    client: WebClient, team_id: str, user_ids: Iterable[str], pacer: Pacer | None = None
) -> dict[str, dict]:
    """Slack user objects for these ids: users.info each for a few, one users.list walk for
    many (in workspace ``team_id``, which an org-wide installation's token must be told)."""
    wanted = set(user_ids)
    users: dict[str, dict] = {}
    if len(wanted) > USERS_LIST_THRESHOLD:
        for page in client.users_list(team_id=team_id, limit=1000):
            for user in page.get("members", []):
                if user.get("id") in wanted:
                    users[user["id"]] = user
        # users.list holds the workspace's own people: someone of another organisation in
        # a shared channel is asked for alone (and left out if Slack no longer shows them)
        wanted -= set(users)
    for user_id in sorted(wanted):
        if pacer:
            pacer.wait("users.info")
        try:
            response = client.users_info(user=user_id)
        except SlackApiError as error:
            if error.response.get("error") not in UNKNOWN_PERSON:
                raise
            continue  # left out as "not found"
        users[user_id] = response["user"]
    return users


def upsert_members(session: Session, team_id: str, users: dict[str, dict]) -> dict[str, Member]:
    """Store what matching needs from each profile: time zone, deactivation, and the job
    title, which gives a level when nothing better is known."""
    rules = rules_for(session, team_id)
    _insert_missing(session, team_id, users)
    existing = {
        m.user_id: m
        for m in session.scalars(
            select(Member).where(Member.team_id == team_id, Member.user_id.in_(list(users)))
        )
    }
    for user_id, user in users.items():
        member = existing[user_id]
        slack_zone = user.get("tz")
        zone = known_zone(slack_zone)
        if slack_zone and zone is None:
            log.warning("Slack's time zone %r is not in this server's tz database (update "
                        "tzdata); the last known zone or the program's stands in", slack_zone)
        member.timezone = zone or member.timezone
        title = one_line((user.get("profile") or {}).get("title") or "")
        member.title = title[:TITLE_MAX] or None
        apply(member, "level", rules.level(member.title), "title")
        member.deactivated = bool(user.get("deleted"))
    session.flush()
    return existing


def _insert_missing(session: Session, team_id: str, users: dict[str, dict]) -> None:
    """Create absent members; another process creating the same ones at once is fine."""
    if not users:
        return
    known = set(
        session.scalars(
            select(Member.user_id).where(Member.team_id == team_id, Member.user_id.in_(list(users)))
        )
    )
    now = utcnow()
    rows = [
        {"team_id": team_id, "user_id": u, "values": {}, "sources": {}, "deactivated": False,
         "created_at": now, "updated_at": now}
        for u in users if u not in known
    ]
    insert_missing(session, Member, rows, ["team_id", "user_id"])


def build_roster(
    client: WebClient,
    session: Session,
    program: Program,
    slot: dt.datetime,
    *,
    bot_user_id: str | None,
    pacer: Pacer | None = None,
) -> Roster:
    """Everyone in the channel now who takes part in the round at `slot`; the channel's
    members are stored on the way (bot.domain.services.membership), so counts stay fresh.

    A pause runs through the person's own date: the round's date is taken where they are
    (their Slack time zone, or the program's when Slack has none).
    """
    roster = Roster()
    users, kinds = read_members(client, session, program, bot_user_id=bot_user_id, pacer=pacer)
    ids = list(kinds)
    choices = {
        p.user_id: p
        for p in session.scalars(select(Participation).where(Participation.program_id == program.id))
    }
    for user_id in ids:
        choice = choices.get(user_id)
        reason = membership.left_out(kinds[user_id], program)
        if reason is None and choice is not None and choice.opted_out:
            reason = "opted out"
        if reason is not None:
            roster.excluded[user_id] = reason
    # Profiles are stored only for people who may take part: nothing about bots, guests or
    # people who opted out (or asked to be forgotten) is written.
    candidates = {u: users[u] for u in ids if u not in roster.excluded}
    members = upsert_members(session, program.team_id, candidates)
    for user_id in candidates:
        if _paused(members[user_id], choices.get(user_id), program, slot):
            roster.excluded[user_id] = "paused"
        else:
            roster.members.append(members[user_id])
    if field_labels(session.get(Workspace, program.team_id)):
        # Mapped custom fields live only in users.profile.get; recently read ones are skipped.
        # The members are stored first: no write transaction stays open while Slack answers.
        session.commit()
        sync_profiles(client, session, program.team_id, roster.user_ids)
    return roster


def _paused(member: Member, choice: Participation | None, program: Program, slot) -> bool:
    day = local_date(slot, member.timezone or program.timezone)
    return paused_on(member.paused_until, day) or (
        choice is not None and paused_on(choice.paused_until, day)
    )


def gone_since_planning(
    session: Session,
    program: Program,
    slot: dt.datetime,
    user_ids: Iterable[str],
    members: dict[str, Member],
) -> set[str]:
    """Who of these no longer takes part in the round at `slot`: they left the channel,
    opted out, paused over its day, or became a guest, deactivated or outsider since the
    round was planned. A delivery that Slack held up for hours must not introduce them,
    having told them "no more lunch groups". Read from what the app keeps (the channel's
    members as its events left them), as a delivery asks Slack nothing about people.
    `members`: their Member rows, which the caller has read already."""
    ids = set(user_ids)
    if not ids:
        return set()
    kinds = {
        row.user_id: row.kind
        for row in session.scalars(
            select(ChannelMember).where(
                ChannelMember.program_id == program.id, ChannelMember.user_id.in_(ids)
            )
        )
    }
    choices = {
        p.user_id: p
        for p in session.scalars(
            select(Participation).where(
                Participation.program_id == program.id, Participation.user_id.in_(ids)
            )
        )
    }
    gone = set()
    for user_id in ids:
        choice, member = choices.get(user_id), members.get(user_id)
        if (
            user_id not in kinds
            or membership.left_out(kinds[user_id], program) is not None
            or (choice is not None and choice.opted_out)
            or (member is not None and _paused(member, choice, program, slot))
        ):
            gone.add(user_id)
    return gone


def read_members(
    client: WebClient,
    session: Session,
    program: Program,
    *,
    bot_user_id: str | None,
    pacer: Pacer | None = None,
) -> tuple[dict[str, dict], dict[str, str]]:
    """Read the channel's members and their user objects from Slack, and keep them with
    their kinds (bot.domain.services.membership); returns (user objects, kinds in channel order).
    A channel that cannot be read is noted on the program, so the Home tab shows why, and
    the error goes on to the caller."""
    end_read(session)  # the caller has only read so far
    try:
        ids = channel_member_ids(client, program.channel_id)
    except ChannelUnreadable as error:
        _note_error(session, program.id, error.code)
        raise
    users = fetch_users(client, program.team_id, ids, pacer)
    grid = membership.enterprise_of(session, program.team_id)
    kinds = {u: membership.kind_of(users.get(u), program.team_id, bot_user_id, grid) for u in ids}
    membership.record_all(session, program, kinds)
    return users, kinds


def read_never_read(
    client: WebClient, database_url: str, team_id: str, bot_user_id: str | None = None
) -> None:
    """Read, once, the members of programs set up before the app kept them (an upgrade):
    afterwards setup, rounds and member events keep them, and a failure waits for those."""
    from bot.storage.db import session_scope

    with session_scope(database_url) as session:
        ids = list(
            session.scalars(
                select(Program.id).where(
                    Program.team_id == team_id,
                    Program.members_read_at.is_(None),
                    Program.members_error.is_(None),
                )
            )
        )
    for program_id in ids:
        try:
            with session_scope(database_url) as session:
                program = session.get(Program, program_id)
                read_members(client, session, program, bot_user_id=bot_user_id)
        except SlackApiError as error:  # noted on the program for admins to see
            log.warning("could not read the members of program %s: %s", program_id,
                        error.response.get("error"))


def _note_error(session: Session, program_id: int, error: str) -> None:
    """Keep why the channel could not be read, in its own transaction: the round's own work
    is rolled back when it fails."""
    with Session(session.get_bind()) as own:
        program = own.get(Program, program_id)
        if program is not None:
            membership.record_error(own, program, error)
            own.commit()
