"""Who is in each program's channel, kept by the app so that counting asks Slack nothing.

The whole list is read at setup and at each round (the roster reads it anyway), and kept up
between rounds by member_joined_channel and member_left_channel. Each person is stored with
their `kind`, Slack's view of them; whether a kind takes part depends on the program's
settings (guests, Slack Connect) and is decided when it is read, so changing a setting never
leaves stale answers behind. The Home tab and `/meet status` read only this table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.domain.schedule import local_date
from bot.domain.services.programs import next_round
from bot.storage.db import insert_missing
from bot.storage.models import ChannelMember, Member, Participation, Program, Workspace, utcnow

SLACKBOT = "USLACKBOT"
CHUNK = 500  # ids per statement, well under every backend's limit on bound parameters

PERSON = "person"
GUEST = "guest"  # single- or multi-channel guest of this workspace
EXTERNAL = "external"  # from another organisation, in a Slack Connect channel
BOT = "bot"
DEACTIVATED = "deactivated"
NOT_FOUND = "not found"


def kind_of(
    user: dict | None, team_id: str, bot_user_id: str | None, enterprise_id: str | None = None
) -> str:
    """Slack's view of a person, from their user object (users.info, users.list, events);
    `enterprise_id` is the workspace's Enterprise Grid organisation, if it has one."""
    if user is None:
        return NOT_FOUND
    if user.get("id") in (SLACKBOT, bot_user_id) or user.get("is_bot") or user.get("is_app_user"):
        return BOT
    if user.get("deleted"):
        return DEACTIVATED
    if is_external(user, team_id, enterprise_id):
        return EXTERNAL
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return GUEST
    return PERSON


def is_external(user: dict, team_id: str, enterprise_id: str | None = None) -> bool:
    """From another organisation: Slack says they are a stranger, or their home team is not
    this workspace. On Enterprise Grid a person of the same organisation (their
    `enterprise_user` names it, or lists this workspace among their teams) is not external."""
    if user.get("is_stranger"):
        return True
    grid = user.get("enterprise_user") or {}
    if enterprise_id and grid.get("enterprise_id") == enterprise_id:
        return False
    home = user.get("team_id") or (user.get("profile") or {}).get("team")
    if not home or home == team_id:
        return False
    return team_id not in (grid.get("teams") or [])


def left_out(kind: str | None, program: Program) -> str | None:
    """Why a person of this kind is not grouped in this program, or None if they are."""
    if kind is None or kind == PERSON:
        return None
    if kind == GUEST and program.allow_guests:
        return None
    if kind == EXTERNAL and program.allow_external:
        return None
    return kind


def enterprise_of(session: Session, team_id: str) -> str | None:
    """The workspace's Enterprise Grid organisation, when the app knows one."""
    workspace = session.get(Workspace, team_id)
    return workspace.enterprise_id if workspace is not None else None


# -- keeping the list ---------------------------------------------------------------------------


def record_all(session: Session, program: Program, kinds: dict[str, str]) -> None:
    """The channel's members as just read in full: everyone else has left."""
    known = dict(
        session.execute(
            select(ChannelMember.user_id, ChannelMember).where(
                ChannelMember.program_id == program.id
            )
        ).all()
    )
    gone = [u for u in known if u not in kinds]
    for start in range(0, len(gone), CHUNK):
        session.execute(
            delete(ChannelMember)
            .where(
                ChannelMember.program_id == program.id,
                ChannelMember.user_id.in_(gone[start : start + CHUNK]),
            )
            .execution_options(synchronize_session=False)
        )
    for user_id, row in known.items():
        if user_id in kinds and row.kind != kinds[user_id]:
            row.kind = kinds[user_id]
    rows = [
        {"program_id": program.id, "user_id": u, "kind": k}
        for u, k in kinds.items()
        if u not in known
    ]
    insert_missing(session, ChannelMember, rows, ["program_id", "user_id"])
    program.members_read_at = utcnow()
    program.members_error = None


def record_error(session: Session, program: Program, error: str) -> None:
    """The members could not be read; the Home tab says so instead of a made-up count."""
    program.members_error = error[:200]


def joined(session: Session, program: Program, user_id: str, kind: str) -> None:
    row = session.scalar(
        select(ChannelMember).where(
            ChannelMember.program_id == program.id, ChannelMember.user_id == user_id
        )
    )
    if row is not None:
        row.kind = kind
        return
    insert_missing(
        session,
        ChannelMember,
        [{"program_id": program.id, "user_id": user_id, "kind": kind}],
        ["program_id", "user_id"],
    )


def left(session: Session, program: Program, user_id: str) -> None:
    session.execute(
        delete(ChannelMember)
        .where(ChannelMember.program_id == program.id, ChannelMember.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


def changed(session: Session, team_id: str, user: dict, bot_user_id: str | None) -> None:
    """A person's account changed (deactivated, reactivated, became a guest): every program
    of the workspace they are in sees the new kind."""
    kind = kind_of(user, team_id, bot_user_id, enterprise_of(session, team_id))
    for row in session.scalars(
        select(ChannelMember)
        .join(Program, Program.id == ChannelMember.program_id)
        .where(Program.team_id == team_id, ChannelMember.user_id == user.get("id"))
    ):
        row.kind = kind


# -- reading it -----------------------------------------------------------------------------------


def kinds_of(session: Session, team_id: str, user_id: str) -> dict[int, str]:
    """The programs (by id) of this workspace whose channel this person is in, with their kind."""
    return dict(
        session.execute(
            select(ChannelMember.program_id, ChannelMember.kind)
            .join(Program, Program.id == ChannelMember.program_id)
            .where(Program.team_id == team_id, ChannelMember.user_id == user_id)
        ).all()
    )


@dataclass(frozen=True)
class Count:
    """How many people the next round would group, or why that is not known."""

    taking_part: int | None  # None: the members were never read
    paused: int = 0
    error: str | None = None


def count(session: Session, program: Program, day: dt.date | None = None) -> Count:
    """People in the channel who would really be grouped on `day` (default: the next round's
    date in the program's time zone): no bots, Slackbot, deactivated accounts, guests or
    people of other organisations unless the program allows them, nobody who left or is
    paused."""
    if program.members_read_at is None:
        return Count(None, error=program.members_error)
    if day is None:
        moment = next_round(program) or utcnow()
        day = local_date(moment, program.timezone)
    rows = session.execute(
        select(ChannelMember.user_id, ChannelMember.kind).where(
            ChannelMember.program_id == program.id
        )
    ).all()
    eligible = {u for u, kind in rows if left_out(kind, program) is None}
    out = set(
        session.scalars(
            select(Participation.user_id).where(
                Participation.program_id == program.id, Participation.opted_out.is_(True)
            )
        )
    )
    paused = set(
        session.scalars(
            select(Participation.user_id).where(
                Participation.program_id == program.id, Participation.paused_until >= day
            )
        )
    ) | set(
        session.scalars(
            select(Member.user_id).where(
                Member.team_id == program.team_id,
                Member.paused_until >= day,
                Member.user_id.in_(list(eligible)),
            )
        )
    )
    taking_part = eligible - out
    return Count(
        taking_part=len(taking_part - paused),
        paused=len(taking_part & paused),
        error=program.members_error,
    )

