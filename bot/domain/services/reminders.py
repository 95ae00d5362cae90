"""The clock's small messages: the heads-up the day before a round, and "you're back in".

Each is claimed in the database before it is sent (an UPDATE that checks the old value),
so with several clock processes a message goes out at most once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update

from bot.common.config import Settings
from bot.domain.schedule import day_ends, zone_or_utc
from bot.domain.services.due import HEADS_UP_AHEAD, heads_up_pending
from bot.domain.services.workspaces import clients_for_teams
from bot.slack.client import reason
from bot.storage.db import session_scope
from bot.storage.models import Member, Participation, Program, Workspace

log = logging.getLogger(__name__)


def heads_up_text(slot: dt.datetime, timezone: str) -> str:
    # Slack shows the date in each reader's own time zone ("tomorrow at 12:00").
    local = slot.astimezone(zone_or_utc(timezone))
    fallback = f"{local:%A} at {local:%H:%M} {timezone}"
    when = f"<!date^{int(slot.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"
    return f"Pairing {when} — `/meet pause 1 week` to skip this round."


def back_in_text(channel_id: str | None) -> str:
    if channel_id:
        return f"You're back in: your pause in <#{channel_id}> is over, see you next round."
    return "You're back in: your pause is over, see you next round."


def send_heads_ups(settings: Settings, now: dt.datetime) -> int:
    """Tell each channel whose round is within a day that it is coming; once per slot."""
    url = settings.database_url
    with session_scope(url) as session:
        rows = session.execute(
            select(
                Program.id,
                Program.team_id,
                Program.channel_id,
                Program.next_run_at,
                Program.timezone,
                Workspace.active,
            )
            .outerjoin(Workspace, Workspace.team_id == Program.team_id)
            .where(*heads_up_pending(now, now + HEADS_UP_AHEAD))
        ).all()
    sent = 0
    client_of = clients_for_teams(settings)
    for program_id, team_id, channel_id, slot, timezone, active in rows:
        with session_scope(url) as session:
            claimed = session.execute(
                update(Program)
                .where(
                    Program.id == program_id,
                    Program.next_run_at == slot,
                    or_(Program.heads_up_sent_for.is_(None), Program.heads_up_sent_for != slot),
                )
                .values(heads_up_sent_for=slot)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not claimed or active is False:
            continue
        try:
            client_of(team_id).chat_postMessage(
                channel=channel_id, text=heads_up_text(slot, timezone)
            )
            sent += 1
            log.info("heads-up posted in %s for the round at %s", channel_id, slot)
        except Exception as error:  # one workspace's trouble must not stop the others
            log.warning(
                "could not post the heads-up in %s (program %s, workspace %s): %s",
                channel_id, program_id, team_id, reason(error),
            )
    return sent


@dataclass(frozen=True)
class Pauses:
    ended: int
    # The earliest moment a pause that has not ended yet (it is still that day where the
    # person is) will end; None when none is waiting.
    waiting_until: dt.datetime | None


def end_pauses(settings: Settings, now: dt.datetime, cutoff: dt.date) -> Pauses:
    """Clear pauses whose last day (`paused_until`) is over where the person is, and tell them.

    Only pauses before `cutoff` are looked at. A person without a known time zone counts in
    the program's (for a pause in one program) or in UTC (a pause everywhere).
    """
    url = settings.database_url
    with session_scope(url) as session:
        people = session.execute(
            select(
                Member.id,
                Member.team_id,
                Member.user_id,
                Member.paused_until,
                Member.timezone,
                Workspace.active,
            )
            .outerjoin(Workspace, Workspace.team_id == Member.team_id)
            .where(Member.paused_until < cutoff)
        ).all()
        choices = session.execute(
            select(
                Participation.id,
                Program.team_id,
                Participation.user_id,
                Participation.paused_until,
                func.coalesce(Member.timezone, Program.timezone),
                Workspace.active,
                Program.channel_id,
            )
            .join(Program, Program.id == Participation.program_id)
            .outerjoin(
                Member,
                and_(Member.team_id == Program.team_id, Member.user_id == Participation.user_id),
            )
            .outerjoin(Workspace, Workspace.team_id == Program.team_id)
            .where(Participation.paused_until < cutoff)
        ).all()
    ended = 0
    waiting: list[dt.datetime] = []
    client_of = clients_for_teams(settings)
    for model, rows in ((Member, people), (Participation, choices)):
        for row in rows:
            row_id, team_id, user_id, until, timezone, active = row[:6]
            channel_id = row[6] if model is Participation else None
            ends = day_ends(until, timezone)
            if now < ends:
                waiting.append(ends)
                continue
            with session_scope(url) as session:
                claimed = session.execute(
                    update(model)
                    .where(model.id == row_id, model.paused_until == until)
                    .values(paused_until=None)
                    .execution_options(synchronize_session=False)
                ).rowcount
            if not claimed:
                continue
            ended += 1
            log.info("pause of %s in %s ended (%s)", user_id, channel_id or team_id, until)
            if active is False:
                continue
            try:
                client_of(team_id).chat_postMessage(
                    channel=user_id, text=back_in_text(channel_id)
                )
            except Exception as error:  # one workspace's trouble must not stop the others
                log.warning(
                    "could not tell %s in workspace %s they are back in: %s",
                    user_id, team_id, reason(error),
                )
    return Pauses(ended=ended, waiting_until=min(waiting, default=None))
