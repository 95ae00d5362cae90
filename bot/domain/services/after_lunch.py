"""After lunch: a thank-you note to the others, and "let's keep in touch" reminders.

A note goes straight to the others as a DM from the app and its words are not kept; only
that one was sent is, so admins can see how many. "Keep in touch" is private until everyone
in the group has chosen it; then the group gets a reminder in its DM every few weeks (the
program's `keep_in_touch_weeks`) until a member stops it. The rotation still never pairs
them again: this is their own lunch, not the app's.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from bot.domain.services.lunches import load, still_here
from bot.storage.db import hold, session_scope
from bot.storage.models import FORGOTTEN_PREFIX, AfterLunch, Group, GroupMember, Program, Round

log = logging.getLogger(__name__)

THANKS = "thanks"
KEEP_IN_TOUCH = "keep_in_touch"


@dataclass(frozen=True)
class OwnGroup:
    group_id: int
    channel_id: str
    conversation_id: str | None
    others: list[str]
    weeks: int


def own_group(session: Session, team_id: str, group_id: int, user_id: str) -> OwnGroup | None:
    """The group, if the person is in it (a forged or foreign button finds nothing)."""
    found = load(session, team_id, group_id)
    if found is None:
        return None
    group, program, _ = found
    members = [m.user_id for m in group.members]
    if user_id not in members:
        return None
    others = [u for u in members if u != user_id and not u.startswith(FORGOTTEN_PREFIX)]
    return OwnGroup(group.id, program.channel_id, group.conversation_id, others,
                    program.keep_in_touch_weeks)  # fmt: skip


def thanked(session: Session, group_id: int, user_id: str) -> None:
    session.add(AfterLunch(group_id=group_id, user_id=user_id, kind=THANKS))


@dataclass(frozen=True)
class Choice:
    formed: bool  # this choice completed the group: reminders start now
    already: bool  # they had chosen it before
    closed: bool = False  # someone of the group asked to be forgotten: no reminders here


def keep_in_touch(session: Session, group_id: int, user_id: str, now: dt.datetime) -> Choice:
    hold(session, Group, Group.id == group_id)  # the last two choosing at once: one of them forms it
    chosen = set(
        session.scalars(
            select(AfterLunch.user_id).where(
                AfterLunch.group_id == group_id, AfterLunch.kind == KEEP_IN_TOUCH
            )
        )
    )
    everyone = set(
        session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id))
    )
    if any(u.startswith(FORGOTTEN_PREFIX) for u in everyone):
        # The conversation still holds the person who asked to be forgotten: the app posts
        # nothing more there, and nobody can choose for them.
        return Choice(formed=False, already=False, closed=True)
    if user_id in chosen:
        return Choice(formed=False, already=True)
    session.add(AfterLunch(group_id=group_id, user_id=user_id, kind=KEEP_IN_TOUCH))
    chosen.add(user_id)
    if not everyone <= chosen:
        return Choice(formed=False, already=False)
    group = session.get(Group, group_id)
    weeks = session.scalar(
        select(Program.keep_in_touch_weeks).join(Round).where(Round.id == group.round_id)
    )
    group.touch_next_at = now + dt.timedelta(weeks=weeks or 12)
    return Choice(formed=True, already=False)


def ties_of(session: Session, team_id: str, user_id: str) -> list[tuple[int, str, list[str]]]:
    """The person's groups with reminders on: (group id, channel, the others), in one query."""
    mine, other = aliased(GroupMember), aliased(GroupMember)
    rows = session.execute(
        select(Group.id, Program.channel_id, other.user_id)
        .join(mine, mine.group_id == Group.id)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .outerjoin(other, (other.group_id == Group.id) & (other.user_id != user_id))
        .where(
            Program.team_id == team_id,
            mine.user_id == user_id,
            Group.touch_next_at.is_not(None),
        )
        .order_by(Group.id, other.user_id)
    ).all()
    ties: dict[int, tuple[int, str, list[str]]] = {}
    for group_id, channel_id, other_id in rows:
        others = ties.setdefault(group_id, (group_id, channel_id, []))[2]
        if other_id is not None and not other_id.startswith(FORGOTTEN_PREFIX):
            others.append(other_id)
    return list(ties.values())


def stop(session: Session, group_id: int) -> bool:
    group = session.get(Group, group_id)
    if group is None or group.touch_next_at is None:
        return False
    group.touch_next_at = None
    return True


def forget(session: Session, user_id: str, placeholder: str) -> None:
    """Forget-me: their choices go, and no group of theirs is reminded any more. Only in
    the workspace they asked in (its groups now name them by `placeholder`): the same user id
    in another workspace is somebody else, whose choices stay."""
    groups = select(GroupMember.group_id).where(GroupMember.user_id == placeholder)
    session.execute(
        update(Group)
        .where(Group.id.in_(groups))
        .values(touch_next_at=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        AfterLunch.__table__.delete().where(
            AfterLunch.user_id == user_id, AfterLunch.group_id.in_(groups)
        )
    )


def counts(session: Session, team_id: str) -> tuple[int, int]:
    """Thank-you notes sent and groups keeping in touch: all admins see of either."""
    in_team = (
        select(Group.id)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .where(Program.team_id == team_id)
    )
    notes = session.scalar(
        select(func.count()).select_from(AfterLunch).where(
            AfterLunch.kind == THANKS, AfterLunch.group_id.in_(in_team))
    ) or 0  # fmt: skip
    ties = session.scalar(
        select(func.count()).select_from(Group).where(
            Group.touch_next_at.is_not(None), Group.id.in_(in_team))
    ) or 0  # fmt: skip
    return notes, ties


def send_reminders(settings, now: dt.datetime) -> int:
    """Remind every group whose time has come, once: the next date is claimed before the
    message goes out (a lost reminder waits for the next one, none is sent twice)."""
    from bot.domain.services.workspaces import clients_for_teams
    from bot.slack import round_messages
    from bot.slack.client import reason

    url = settings.database_url
    with session_scope(url) as session:
        due = session.execute(
            select(Group.id, Group.touch_next_at, Group.conversation_id, Program.team_id,
                   Program.keep_in_touch_weeks)
            .join(Round, Round.id == Group.round_id)
            .join(Program, Program.id == Round.program_id)
            .where(Group.touch_next_at <= now)
        ).all()  # fmt: skip
    client_of = clients_for_teams(settings)
    sent = 0
    for group_id, at, conversation, team_id, weeks in due:
        with session_scope(url) as session:
            # nobody left to keep in touch with (the others' accounts deactivated):
            # the reminders stop
            together = len(still_here(session, session.get(Group, group_id))) >= 2
            claimed = session.execute(
                update(Group)
                .where(Group.id == group_id, Group.touch_next_at == at)
                .values(touch_next_at=now + dt.timedelta(weeks=weeks or 12) if together else None)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not claimed or not conversation or not together:
            continue
        text, blocks = round_messages.keep_in_touch_reminder(group_id, weeks or 12)
        try:
            client_of(team_id).chat_postMessage(channel=conversation, text=text, blocks=blocks)
            sent += 1
        except Exception as error:  # one group's or workspace's trouble must not stop others
            log.warning("could not remind group %s (workspace %s) to keep in touch: %s",
                        group_id, team_id, reason(error))  # fmt: skip
    return sent
