"""The history the insights are measured from, read in a few queries (no Slack calls)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.domain.insights.measures import (
    Attendee,
    GroupRow,
    Measures,
    Participation,
    RoundRow,
    measure,
)
from bot.domain.schedule import EARLIEST_OFFSET, local_date
from bot.domain.services import membership
from bot.storage.models import (
    FORGOTTEN_PREFIX,
    Group,
    GroupMember,
    Member,
    Program,
    Round,
    UnmatchedMember,
)
from bot.storage.models import Participation as Choice


def programs_for(
    session: Session, team_id: str | None = None, channel_id: str | None = None
) -> list[Program]:
    query = select(Program).order_by(Program.team_id, Program.channel_id)
    if team_id:
        query = query.where(Program.team_id == team_id)
    if channel_id:
        query = query.where(Program.channel_id == channel_id)
    return list(session.scalars(query))


def program_teams(session: Session) -> list[str]:
    """The workspaces that have a program: what a mistyped --team is told to choose from."""
    return list(session.scalars(select(Program.team_id).distinct().order_by(Program.team_id)))


def measure_programs(
    session: Session, programs: list[Program], since: dt.date | None = None
) -> Measures:
    """The figures over these programs' rounds (from `since` on, if given). A round's date is
    its day where its program is, as its schedule is written: a Monday lunch round in
    Auckland is Sunday in UTC."""
    ids = [p.id for p in programs]
    channel = {p.id: p.channel_id for p in programs}
    zone = {p.id: p.timezone for p in programs}

    def day(slot: dt.datetime, program_id: int) -> dt.date:
        return local_date(slot, zone[program_id])

    query = (
        select(Group, Round.slot, Round.program_id)
        .join(Round, Round.id == Group.round_id)
        .where(Round.program_id.in_(ids))
        .options(selectinload(Group.members))
    )
    runs = select(Round.id, Round.slot, Round.program_id).where(Round.program_id.in_(ids))
    if since is not None:
        # no zone's `since` starts before UTC+14's; each round's own day is checked below
        start = dt.datetime.combine(since, dt.time(), dt.UTC) - EARLIEST_OFFSET
        query = query.where(Round.slot >= start)
        runs = runs.where(Round.slot >= start)
    found = [(group, day(slot, program_id), program_id)
             for group, slot, program_id in session.execute(query)]  # fmt: skip
    # the rounds themselves: one where nobody could be placed has no group, yet counts
    held = [RoundRow(round_id, day(slot, program_id), channel[program_id])
            for round_id, slot, program_id in session.execute(runs)]  # fmt: skip
    if since is not None:
        found = [row for row in found if row[1] >= since]
        held = [row for row in held if row.date >= since]
    people = {
        (m.team_id, m.user_id): m
        for m in session.scalars(
            select(Member).where(Member.team_id.in_({p.team_id for p in programs}))
        )
    }
    team = {p.id: p.team_id for p in programs}
    rows = []
    for group, date, program_id in found:
        attendees = []
        for member in group.members:
            if member.user_id.startswith(FORGOTTEN_PREFIX):
                continue  # someone who asked to be forgotten counts in no figure
            known = people.get((team[program_id], member.user_id))
            attendees.append(Attendee(
                member.user_id,
                known.level if known else None,
                known.department if known else None,
                known.location if known else None,
            ))  # fmt: skip
        rows.append(GroupRow(
            group.round_id, date, channel[program_id], group.delivery == "posted",
            group.outcome == "met", tuple(attendees),
        ))  # fmt: skip
    unmatched = dict(
        session.execute(
            select(UnmatchedMember.round_id, func.count())
            .join(Round, Round.id == UnmatchedMember.round_id)
            .where(Round.program_id.in_(ids))
            .group_by(UnmatchedMember.round_id)
        ).all()
    )
    return measure(rows, _participation(session, programs), unmatched, held)


def _participation(session: Session, programs: list[Program]) -> Participation:
    taking_part = paused = 0
    for program in programs:
        count = membership.count(session, program)
        taking_part += count.taking_part or 0
        paused += count.paused or 0
    # "Left": opted out of a program they had been in a round of. Forget-me leaves an opt-out
    # in every program under the real id, while their rounds hold a placeholder: that marker
    # (or leaving before any round) is nobody leaving.
    grouped = (
        select(GroupMember.id)
        .join(Group, Group.id == GroupMember.group_id)
        .join(Round, Round.id == Group.round_id)
        .where(Round.program_id == Choice.program_id, GroupMember.user_id == Choice.user_id)
    )
    unplaced = (
        select(UnmatchedMember.id)
        .join(Round, Round.id == UnmatchedMember.round_id)
        .where(Round.program_id == Choice.program_id, UnmatchedMember.user_id == Choice.user_id)
    )
    left = session.scalar(
        select(func.count()).select_from(Choice).where(
            Choice.program_id.in_([p.id for p in programs]), Choice.opted_out.is_(True),
            grouped.exists() | unplaced.exists(),
        )
    ) or 0  # fmt: skip
    return Participation(taking_part, paused, left)


@dataclass(frozen=True)
class Reach:
    people: int
    teams: int
    offices: int


def reach_of(session: Session, team_id: str, user_id: str) -> Reach:
    """How far one person's lunches reached: people met, and their teams and offices."""
    mine = (
        select(GroupMember.group_id)
        .join(Group, Group.id == GroupMember.group_id)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .where(Program.team_id == team_id, GroupMember.user_id == user_id, Group.outcome == "met")
    )
    others = set(
        session.scalars(
            select(GroupMember.user_id).where(
                GroupMember.group_id.in_(mine), GroupMember.user_id != user_id,
                ~GroupMember.user_id.like(f"{FORGOTTEN_PREFIX}%"),
            )
        )
    )  # fmt: skip
    rows = session.execute(
        select(Member.department, Member.location).where(
            Member.team_id == team_id, Member.user_id.in_(others)
        )
    ).all()
    return Reach(
        people=len(others),
        teams=len({d for d, _ in rows if d}),
        offices=len({loc for _, loc in rows if loc}),
    )


CHART_TITLES = {
    "rounds.png": "Participation and meet rate per round",
    "reach.png": "Reach: distinct colleagues met per person",
    "levels.png": "Meetings by level",
    "departments.png": "Meetings by department",
}


def send_charts(settings, client, team_id: str, user_id: str, channel_id: str | None = None) -> str:
    """Draw the charts of a workspace (or of one program channel) and upload them into the
    admin's DM with the app; what to tell them. Slack is called only after the reading."""
    from slack_sdk.errors import SlackApiError

    from bot.domain.insights import charts
    from bot.slack import texts
    from bot.storage.db import session_scope

    with session_scope(settings.database_url) as session:
        chosen = programs_for(session, team_id, channel_id) or programs_for(session, team_id)
        if not chosen:
            return texts.NO_CHARTS
        figures = measure_programs(session, chosen)
        where = [p.channel_id for p in chosen]
    pictures = charts.all_charts(figures)
    try:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            file_uploads=[{"content": png, "filename": name, "title": CHART_TITLES[name]}
                          for name, png in pictures.items()],
            channel=dm,
            initial_comment=texts.charts_comment(where, figures),
            request_file_info=False,
        )  # fmt: skip
    except SlackApiError as error:
        return texts.charts_refused(error.response.get("error", "error"))
    return texts.CHARTS_SENT
