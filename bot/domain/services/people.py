"""A person's own choices: taking part, pausing, their profile, being forgotten, being an admin.

Everything is scoped to one workspace (team id) and one person; nothing here can change
another person's choices, and a person's level is only ever returned to them or an admin.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Column, String, Table, cast, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.levels import sources as levels
from bot.domain.services import after_lunch, avoids, membership
from bot.slack.client import slack_user
from bot.storage import transfer
from bot.storage.db import end_read
from bot.storage.models import (
    FORGOTTEN_PREFIX,
    Admin,
    Group,
    GroupMember,
    LunchVote,
    Member,
    Participation,
    Program,
    Round,
    UnmatchedMember,
    utcnow,
)

log = logging.getLogger(__name__)

# -- admins -----------------------------------------------------------------------------------



def is_app_admin(session: Session, team_id: str, user_id: str) -> bool:
    return (
        session.scalar(select(Admin.id).where(Admin.team_id == team_id, Admin.user_id == user_id))
        is not None
    )


def is_admin(
    session: Session, client: WebClient, team_id: str, user_id: str, user: dict | None = None
) -> bool:
    """Workspace admins and owners, plus people an admin added with `/meet admins add`. An
    admin of another organisation (in a shared channel, Slack says they are an admin: of
    their own workspace) is not one here. Without `user` Slack is asked, after the session's
    transaction is ended: the caller has only read so far (a caller that wrote passes `user`,
    read before its write)."""
    if is_app_admin(session, team_id, user_id):
        return True
    if user is None:
        end_read(session)
        user = slack_user(client, user_id)
    if not user or user.get("deleted"):
        return False
    if membership.is_external(user, team_id, membership.enterprise_of(session, team_id)):
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def add_admin(session: Session, team_id: str, user_id: str, added_by: str) -> bool:
    """False when they already were one."""
    if is_app_admin(session, team_id, user_id):
        return False
    try:
        with session.begin_nested():
            session.add(Admin(team_id=team_id, user_id=user_id, added_by=added_by))
    except IntegrityError:
        return False
    return True


def remove_admin(session: Session, team_id: str, user_id: str) -> bool:
    result = session.execute(
        delete(Admin).where(Admin.team_id == team_id, Admin.user_id == user_id)
    )
    return bool(result.rowcount)


def app_admins(session: Session, team_id: str) -> list[str]:
    return list(
        session.scalars(select(Admin.user_id).where(Admin.team_id == team_id).order_by(Admin.id))
    )


# -- taking part ------------------------------------------------------------------------------


def participation(
    session: Session, program: Program, user_id: str, *, create: bool = True
) -> Participation | None:
    query = select(Participation).where(
        Participation.program_id == program.id, Participation.user_id == user_id
    )
    choice = session.scalar(query)
    if choice is not None or not create:
        return choice
    choice = Participation(program_id=program.id, user_id=user_id, opted_out=False, silent_rounds=0)
    try:
        with session.begin_nested():
            session.add(choice)
    except IntegrityError:
        choice = session.scalar(query)
    return choice


def join(session: Session, program: Program, user_id: str) -> bool:
    """Take part again; False when they already did."""
    choice = participation(session, program, user_id)
    if not choice.opted_out:
        return False
    choice.opted_out = False
    choice.silent_rounds = 0
    return True


def leave(session: Session, program: Program, user_id: str) -> bool:
    """Stop taking part (staying in the channel); False when they already had."""
    choice = participation(session, program, user_id)
    if choice.opted_out:
        return False
    choice.opted_out = True
    return True


def member(session: Session, team_id: str, user_id: str, *, create: bool = True) -> Member | None:
    return levels.member_for(session, team_id, user_id, create=create)


def pause(
    session: Session, team_id: str, user_id: str, until: dt.date, program: Program | None
) -> None:
    """Skip rounds through `until`: in one program, or in all of them (program None)."""
    if program is None:
        member(session, team_id, user_id).paused_until = until
    else:
        participation(session, program, user_id).paused_until = until


@dataclass(frozen=True)
class Resumed:
    resumed: bool  # something was paused and is not any more
    still_paused_until: dt.date | None  # an all-programs pause that still applies


def resume(
    session: Session, team_id: str, user_id: str, program: Program | None, today: dt.date
) -> Resumed:
    """In a program channel: that program. Elsewhere: everything, all pauses lifted."""
    resumed = False
    person = member(session, team_id, user_id, create=False)
    if program is not None:
        choice = participation(session, program, user_id, create=False)
        if choice is not None and paused_on(choice.paused_until, today):
            resumed = True
        if choice is not None:
            choice.paused_until = None
        still = person.paused_until if person and paused_on(person.paused_until, today) else None
        return Resumed(resumed, still)
    if person is not None:
        resumed = paused_on(person.paused_until, today)
        person.paused_until = None
    for choice in session.scalars(
        select(Participation)
        .join(Program, Program.id == Participation.program_id)
        .where(Program.team_id == team_id, Participation.user_id == user_id)
    ):
        resumed = resumed or paused_on(choice.paused_until, today)
        choice.paused_until = None
    return Resumed(resumed, None)


def paused_on(until: dt.date | None, day: dt.date) -> bool:
    """Whether a pause through `until` (the person's own date, inclusive) covers `day`."""
    return until is not None and until >= day


def paused_until(
    session: Session, team_id: str, user_id: str, program: Program | None, today: dt.date
) -> dt.date | None:
    """The latest date through which this person skips rounds (here, or everywhere)."""
    dates = []
    person = member(session, team_id, user_id, create=False)
    if person and paused_on(person.paused_until, today):
        dates.append(person.paused_until)
    if program is not None:
        choice = participation(session, program, user_id, create=False)
        if choice and paused_on(choice.paused_until, today):
            dates.append(choice.paused_until)
    return max(dates) if dates else None


# -- profile ----------------------------------------------------------------------------------


def lunch_of(person: Member | None, programs=()) -> tuple[frozenset[int] | None, str | None]:
    """Their lunch days (None: Monday to Friday) and time (else that of the first of
    `programs`, the ones whose rounds group them; None when there is none)."""
    from bot.domain.lunch_dates import parse_days

    days = parse_days([person.lunch_days]) if person and person.lunch_days else None
    time = person.lunch_time if person and person.lunch_time else None
    return days, time or next((p.time_of_day for p in programs), None)


def set_lunch(
    session: Session, team_id: str, user_id: str, days: frozenset[int] | None = None,
    time_of_day: str | None = None,
) -> Member | None:
    """Their lunch days and/or usual time, for the days intros offer; only they see them.
    Given neither, it only reads: nothing is stored for someone who only looked."""
    from bot.domain.lunch_dates import WEEKDAYS

    person = member(session, team_id, user_id, create=days is not None or time_of_day is not None)
    if person is None:
        return None
    if days is not None:
        person.lunch_days = ",".join(WEEKDAYS[d] for d in sorted(days))
    if time_of_day is not None:
        person.lunch_time = time_of_day
    return person


def set_about(session: Session, team_id: str, user_id: str, about: str) -> None:
    """Their "ask me about" line ("" clears it); forget-me deletes it with the member row."""
    member(session, team_id, user_id).about = about or None


def set_profile(
    session: Session, team_id: str, user_id: str, attribute: str, value, source: str
) -> levels.Resolution | None:
    """Store one source's value (admin or self); returns which value wins for matching.

    None, storing nothing, when an admin names someone who asked to be forgotten (or left
    every program before a round stored them): what forget-me removed stays gone, as in an
    HR import. They can still set their own."""
    if source == "admin" and levels.opted_out_everywhere(session, team_id, [user_id]):
        return None
    return levels.set_value(session, team_id, user_id, attribute, value, source)


def self_levels_allowed(session: Session, team_id: str, channel_id: str | None) -> bool:
    """Self-service levels: this channel's program allows it, or (outside one) any does."""
    here = session.scalar(
        select(Program.id).where(Program.team_id == team_id, Program.channel_id == channel_id)
    )
    return levels.self_service_allowed(session, team_id, channel_id if here else None)


# -- welcome ----------------------------------------------------------------------------------


def claim_welcome(session: Session, program: Program, user_id: str) -> Participation | None:
    """Mark the welcome as sent, once per person per program; None if it already was."""
    participation(session, program, user_id)
    session.flush()
    claimed = session.execute(
        update(Participation)
        .where(
            Participation.program_id == program.id,
            Participation.user_id == user_id,
            Participation.welcomed_at.is_(None),
        )
        .values(welcomed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return None
    return participation(session, program, user_id, create=False)


def unclaim_welcome(session: Session, program_id: int, user_id: str) -> None:
    session.execute(
        update(Participation)
        .where(Participation.program_id == program_id, Participation.user_id == user_id)
        .values(welcomed_at=None)
        .execution_options(synchronize_session=False)
    )


# -- deactivation and forgetting ----------------------------------------------------------------


def set_deactivated(session: Session, team_id: str, user_id: str, deactivated: bool) -> None:
    """A deleted account is never paired again; a reactivated one may be."""
    person = member(session, team_id, user_id, create=deactivated)
    if person is not None:
        person.deactivated = deactivated


@functools.cache
def _installer_columns() -> list[tuple[Table, Column]]:
    """Every column of slack_sdk's installation store that names a person (the installer),
    not the bot: read from its own table definitions, so a new one is not missed."""
    store = SQLAlchemyInstallationStore
    names = {store.default_installations_table_name, store.default_bots_table_name}
    return [
        (table, column)
        for table in transfer.tables()
        if table.name in names
        for column in table.columns
        if column.name.endswith("user_id") and not column.name.startswith("bot_")
    ]


def forget(session: Session, team_id: str, user_id: str) -> str:
    """Delete what is stored about a person in this workspace; return their placeholder.

    Past groups keep an anonymous placeholder in their place, so other people's history and
    the no-repeat rule stay right. What remains about them is one marker per program of the
    workspace that they opted out, so the next round does not pair them again (and, while
    they stay in a program's channel, Slack's own list of its members, read at each round).
    With no Member row, those markers are how bulk reads know to leave them alone
    (levels.opted_out_everywhere), and how the insights tell them from people who left.
    """
    placeholder = FORGOTTEN_PREFIX + secrets.token_hex(8)
    program_ids = select(Program.id).where(Program.team_id == team_id)
    round_ids = select(Round.id).where(Round.program_id.in_(program_ids))
    group_ids = select(Group.id).where(Group.round_id.in_(round_ids))
    no_sync = {"synchronize_session": False}
    # Every column that can name the person, and which rows of this workspace to look in.
    columns = [
        (GroupMember.user_id, GroupMember.group_id.in_(group_ids)),
        (UnmatchedMember.user_id, UnmatchedMember.round_id.in_(round_ids)),
        (Group.organiser_id, Group.id.in_(group_ids)),
        (Group.outcome_by, Group.id.in_(group_ids)),
        (LunchVote.user_id, LunchVote.group_id.in_(group_ids)),  # a date still counts as voted
    ]
    for column, in_workspace in columns:
        session.execute(
            update(column.class_)
            .where(in_workspace, column == user_id)
            .values({column.key: placeholder})
            .execution_options(**no_sync)
        )
    # Where they are named as someone else's: who set a program up, who added an admin,
    # whose manager they are (each source's word; the resolved manager follows from them).
    # Nobody's lunches depend on those once they are gone. Only rows whose values name them
    # at all are read (the text of the JSON), not the whole workspace.
    naming = cast(Member.values, String).contains(f'"{user_id}"', autoescape=True)
    for member in session.scalars(select(Member).where(Member.team_id == team_id, naming)):
        for source, value in dict((member.values or {}).get("manager") or {}).items():
            if value == user_id:
                levels.apply(member, "manager", None, source)
    for column, in_workspace in [
        (Program.created_by, Program.team_id == team_id),
        (Admin.added_by, Admin.team_id == team_id),
    ]:
        session.execute(
            update(column.class_)
            .where(in_workspace, column == user_id)
            .values({column.key: None})
            .execution_options(**no_sync)
        )
    for group in session.scalars(
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == placeholder)
    ):
        if user_id in (group.responders or []):
            group.responders = [placeholder if u == user_id else u for u in group.responders]
    session.execute(
        delete(Member)
        .where(Member.team_id == team_id, Member.user_id == user_id)
        .execution_options(**no_sync)
    )
    session.execute(
        delete(Admin)
        .where(Admin.team_id == team_id, Admin.user_id == user_id)
        .execution_options(**no_sync)
    )
    session.execute(
        delete(Participation)
        .where(Participation.program_id.in_(program_ids), Participation.user_id == user_id)
        .execution_options(**no_sync)
    )
    for program_id in session.scalars(select(Program.id).where(Program.team_id == team_id)):
        session.add(
            Participation(program_id=program_id, user_id=user_id, opted_out=True, silent_rounds=0)
        )
    avoids.forget(session, team_id, user_id)
    # slack_sdk keeps who installed the app with its tokens (and in every export file).
    for table, column in _installer_columns():
        session.execute(
            update(table)
            .where(table.c.team_id == team_id, column == user_id)
            .values({column.name: placeholder})  # user_id is NOT NULL: a value, not none
        )

    after_lunch.forget(session, user_id, placeholder)
    session.flush()
    log.info("forgot a person in workspace %s", team_id)
    return placeholder
