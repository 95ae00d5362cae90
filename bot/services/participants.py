"""Who takes part in a round: the channel's members now, minus those who should not be paired.

Membership is read live from Slack at every round (joining the channel is the opt-in), and
profiles are refreshed in the same pass so time zones and titles are never stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import insert_missing
from bot.levels.profiles import TITLE_MAX, field_labels, sync_profiles
from bot.levels.sources import apply
from bot.levels.titles import rules_for
from bot.models import Member, Participation, Program, Workspace, utcnow
from bot.services.pacing import Pacer

SLACKBOT = "USLACKBOT"
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
    client: WebClient, user_ids: Iterable[str], pacer: Pacer | None = None
) -> dict[str, dict]:
    """Slack user objects for these ids: users.info each for a few, one users.list walk for many."""
    wanted = set(user_ids)
    users: dict[str, dict] = {}
    if len(wanted) > USERS_LIST_THRESHOLD:
        for page in client.users_list(limit=1000):
            for user in page.get("members", []):
                if user.get("id") in wanted:
                    users[user["id"]] = user
        return users
    for user_id in sorted(wanted):
        if pacer:
            pacer.wait("users.info")
        try:
            response = client.users_info(user=user_id)
        except SlackApiError as error:
            if error.response.get("error") != "user_not_found":
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
        member.timezone = user.get("tz") or member.timezone
        title = " ".join(str((user.get("profile") or {}).get("title") or "").split())
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


def exclusion(user: dict | None, bot_user_id: str | None, allow_guests: bool) -> str | None:
    """Why Slack's view of this person keeps them out of a round, if it does."""
    if user is None:
        return "not found"
    if user.get("id") in (SLACKBOT, bot_user_id) or user.get("is_bot") or user.get("is_app_user"):
        return "bot"
    if user.get("deleted"):
        return "deactivated"
    if (user.get("is_restricted") or user.get("is_ultra_restricted")) and not allow_guests:
        return "guest"
    return None


def build_roster(
    client: WebClient,
    session: Session,
    program: Program,
    round_date: dt.date,
    *,
    bot_user_id: str | None,
    pacer: Pacer | None = None,
) -> Roster:
    roster = Roster()
    ids = channel_member_ids(client, program.channel_id)
    users = fetch_users(client, ids, pacer)
    choices = {
        p.user_id: p
        for p in session.scalars(select(Participation).where(Participation.program_id == program.id))
    }
    for user_id in ids:
        choice = choices.get(user_id)
        reason = exclusion(users.get(user_id), bot_user_id, program.allow_guests)
        if reason is None and choice is not None and choice.opted_out:
            reason = "opted out"
        if reason is not None:
            roster.excluded[user_id] = reason
    # Profiles are stored only for people who may take part: nothing about bots, guests or
    # people who opted out (or asked to be forgotten) is written.
    candidates = {u: users[u] for u in ids if u not in roster.excluded}
    members = upsert_members(session, program.team_id, candidates)
    for user_id in candidates:
        member = members[user_id]
        choice = choices.get(user_id)
        if _paused(member.paused_until, round_date) or (
            choice is not None and _paused(choice.paused_until, round_date)
        ):
            roster.excluded[user_id] = "paused"
        else:
            roster.members.append(member)
    if field_labels(session.get(Workspace, program.team_id)):
        # Mapped custom fields live only in users.profile.get; recently read ones are skipped.
        # The members are stored first: no write transaction stays open while Slack answers.
        session.commit()
        sync_profiles(client, session, program.team_id, roster.user_ids)
    return roster


def _paused(until: dt.date | None, round_date: dt.date) -> bool:
    return until is not None and until >= round_date
