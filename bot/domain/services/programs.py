"""Programs: pairing switched on in a channel, with its schedule and its rules.

Every lookup takes the team id of the request, so a program of one workspace can never be
read or changed from another, even when channel ids or program ids are guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.common import values
from bot.domain import schedule
from bot.domain.levels.admin import workspace_row
from bot.domain.services.due import reschedule
from bot.slack import texts
from bot.storage.models import Program, Workspace, utcnow

DEFAULT_TIME = "12:00"
DEFAULT_WEEKDAY = 0
OPTIONS = (
    "allow_guests",
    "allow_external",
    "post_summary",
    "heads_up",
    "self_service_levels",
    "skip_level_apart",
    "auto_schedule",
)
# "Did you meet?" goes out this many days into a round (a round lasts at least a week).
CHECKIN_DAYS_MAX = 6


# -- lookups ----------------------------------------------------------------------------------


def in_channel(session: Session, team_id: str, channel_id: str | None) -> Program | None:
    if not channel_id:
        return None
    return session.scalar(
        select(Program).where(Program.team_id == team_id, Program.channel_id == channel_id)
    )


def by_id(session: Session, team_id: str, program_id: int | str | None) -> Program | None:
    """The program with this id, only if it belongs to this workspace."""
    number = values.parse_id(program_id)
    program = session.get(Program, number) if number is not None else None
    return program if program is not None and program.team_id == team_id else None


def of_team(session: Session, team_id: str, *, enabled_only: bool = False) -> list[Program]:
    query = select(Program).where(Program.team_id == team_id).order_by(Program.id)
    if enabled_only:
        query = query.where(Program.enabled.is_(True))
    return list(session.scalars(query))


def ensure_workspace(session: Session, team_id: str, name: str | None = None) -> Workspace:
    """The workspace row, made if missing and marked active (it is talking to us)."""
    workspace = workspace_row(session, team_id, name)
    if not workspace.active:
        workspace.active = True
        workspace.uninstalled_at = None
    if name and workspace.name != name:
        workspace.name = name
    return workspace


def heard_from(
    session: Session, team_id: str, seen_at: dt.datetime | None, org_wide: str | None = None
) -> bool:
    """Slack sent something from this workspace that happened at ``seen_at`` (None: it says
    the app is gone). Returns True when that marks an uninstalled workspace active again
    (it happened after the uninstall, so the app was installed again).

    ``org_wide`` is the Enterprise Grid org whose org-wide installation the request came
    through: no installation names this workspace, so scheduled work finds the org's token
    by the org kept here."""
    workspace = session.get(Workspace, team_id)
    if org_wide == team_id:  # a request about the org itself names no workspace
        return False
    if org_wide and (workspace is None or workspace.enterprise_id != org_wide):
        workspace = workspace or workspace_row(session, team_id)
        workspace.enterprise_id = org_wide
    if workspace is None or workspace.active or seen_at is None:
        return False
    if workspace.uninstalled_at is not None and seen_at <= workspace.uninstalled_at:
        return False  # a retry of an event from before the uninstall proves nothing
    workspace.active = True
    workspace.uninstalled_at = None
    return True


def workspaces_of_org(session: Session, enterprise_id: str) -> list[str]:
    """The workspaces known to belong to this Enterprise Grid org."""
    query = select(Workspace.team_id).where(Workspace.enterprise_id == enterprise_id)
    return list(session.scalars(query.order_by(Workspace.team_id)))


def deactivate(session: Session, team_id: str) -> None:
    """Uninstalled or token revoked: the clock skips every program of the workspace."""
    workspace = ensure_workspace(session, team_id)
    workspace.active = False
    workspace.uninstalled_at = utcnow()


# -- schedule ---------------------------------------------------------------------------------


def describe(program: Program) -> str:
    """The program's schedule in words, e.g. "every Monday at 12:00 Europe/Berlin"."""
    try:
        return schedule.describe(schedule.schedule_of(program))
    except ValueError:
        return "an unreadable schedule (open the settings to fix it)"


def next_round(program: Program, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the next round runs: the clock's stored slot, or the schedule's next one."""
    if not program.enabled:
        return None
    now = now or utcnow()
    if program.next_run_at is not None and program.next_run_at > now:
        return program.next_run_at
    try:
        return schedule.next_run(schedule.schedule_of(program), now)
    except ValueError:
        return None


def format_when(moment: dt.datetime | None, timezone: str | None) -> str:
    """A moment in a person's own time zone, e.g. "Monday 9 March, 12:00 (Europe/Berlin)"."""
    if moment is None:
        return "not scheduled"
    zone_name = timezone or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone_name, zone = "UTC", ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M} ({zone_name})"


def stand_in_words(report, timezone: str) -> str | None:
    """What the admin who ran a round by hand is told when it stood in for a scheduled one
    (rounds.RoundReport), in the program's time zone; None when it stood in for none."""
    if report.stands_in_for is None:
        return None
    return texts.stands_in(format_when(report.stands_in_for, timezone),
                           format_when(report.next_slot, timezone))  # fmt: skip


def next_round_for(program: Program, own_zone: str | None) -> str:
    """The program's next round in words, in the person's own time zone; for someone Slack
    gives none, in the program's, as its schedule is written (and saying which)."""
    return format_when(next_round(program), own_zone or program.timezone)


# -- changes ----------------------------------------------------------------------------------


STARTED, BACK_ON, ALREADY_ON = "started", "back on", "already on"


def start(
    session: Session, team_id: str, channel_id: str, user_id: str, timezone: str | None
) -> tuple[Program, str]:
    """Switch pairing on in a channel with sensible defaults; (program, STARTED if newly
    created, BACK_ON if it was switched off, else ALREADY_ON)."""
    ensure_workspace(session, team_id)
    program = in_channel(session, team_id, channel_id)
    if program is not None:
        return program, BACK_ON if set_enabled(program, True) else ALREADY_ON
    program = Program(
        team_id=team_id,
        channel_id=channel_id,
        enabled=True,
        cadence="weekly",
        weekday=DEFAULT_WEEKDAY,
        time_of_day=DEFAULT_TIME,
        timezone=_known_zone(timezone),
        group_size=2,
        created_by=user_id,
    )
    try:
        with session.begin_nested():
            session.add(program)
    except IntegrityError:  # two admins at once: the other one made it
        return in_channel(session, team_id, channel_id), ALREADY_ON
    reschedule(program)
    return program, STARTED


def _known_zone(name: str | None) -> str:
    try:
        return schedule.check_timezone(name or "UTC")
    except ValueError:
        return "UTC"


def set_schedule(
    program: Program,
    cadence: str,
    weekday: int,
    time_of_day: str,
    timezone: str | None,
    week_of_month: int | None = None,
) -> None:
    """Set the schedule; the program's next slot moves only if the schedule changed (a
    form saved for its group size left the next round where it was)."""
    now = utcnow()
    monthly = cadence == schedule.MONTHLY
    week_of_month = (week_of_month or program.week_of_month or 1) if monthly else None
    unchanged = (
        (program.cadence, program.weekday, program.time_of_day, program.week_of_month)
        == (cadence, weekday, time_of_day, week_of_month)
        and (not timezone or timezone == program.timezone)
        and program.next_run_at is not None
        and (cadence not in (schedule.BIWEEKLY, schedule.EVERY_4_WEEKS) or program.anchor_date)
    )
    if unchanged:
        return
    keep_parity = (
        program.cadence == cadence
        and program.weekday == weekday
        and program.anchor_date is not None
    )
    program.cadence = cadence
    program.weekday = weekday
    program.time_of_day = time_of_day
    if timezone:
        program.timezone = timezone
    program.week_of_month = week_of_month
    if cadence in (schedule.BIWEEKLY, schedule.EVERY_4_WEEKS):
        if not keep_parity:
            # The nearest such weekday from now has a round and fixes which weeks have one.
            weekly = schedule.Schedule(
                weekday=weekday,
                time_of_day=schedule.parse_time(time_of_day),
                timezone=program.timezone,
            )
            first = schedule.next_run(weekly, now)
            program.anchor_date = first.astimezone(schedule.zone(program.timezone)).date()
    else:
        program.anchor_date = None
    reschedule(program, now)


def set_enabled(program: Program, enabled: bool) -> bool:
    """Switch on or off; False when it already was."""
    if program.enabled == enabled:
        return False
    program.enabled = enabled
    if enabled:
        reschedule(program)
    return True


@dataclass(frozen=True)
class ProgramSettings:
    cadence: str
    weekday: int
    time_of_day: str
    timezone: str
    group_size: int
    options: frozenset[str] = field(default_factory=frozenset)
    checkin_after_days: int = 3
    keep_in_touch_weeks: int = 12
    week_of_month: int | None = None  # monthly: 1-4 or -1 (the last); None keeps it


KEEP_IN_TOUCH_WEEKS = (4, 8, 12, 26)


def settings_of(program: Program) -> ProgramSettings:
    return ProgramSettings(
        cadence=program.cadence if program.cadence in schedule.CADENCES else "weekly",
        weekday=program.weekday,
        time_of_day=program.time_of_day,
        timezone=program.timezone,
        group_size=program.group_size,
        options=frozenset(o for o in OPTIONS if getattr(program, o)),
        checkin_after_days=program.checkin_after_days,
        keep_in_touch_weeks=program.keep_in_touch_weeks,
        week_of_month=program.week_of_month,
    )


def merged(
    current: ProgramSettings, shown: ProgramSettings | None, saved: ProgramSettings
) -> ProgramSettings:
    """What a settings form saves: the fields the admin changed from what the form showed,
    over the program as it is now, so that what another admin (or a /meet command) changed
    meanwhile is not undone by a form that still showed the old value. Without what the form
    showed, everything it holds."""
    if shown is None:
        return saved
    changed = {
        f.name: getattr(saved, f.name)
        for f in fields(ProgramSettings)
        if f.name != "options" and getattr(saved, f.name) != getattr(shown, f.name)
    }
    turned_on, turned_off = saved.options - shown.options, shown.options - saved.options
    return replace(current, options=(current.options - turned_off) | turned_on, **changed)


def apply_settings(program: Program, settings: ProgramSettings) -> None:
    for option in OPTIONS:
        setattr(program, option, option in settings.options)
    program.group_size = settings.group_size
    program.checkin_after_days = settings.checkin_after_days
    program.keep_in_touch_weeks = settings.keep_in_touch_weeks
    set_schedule(
        program, settings.cadence, settings.weekday, settings.time_of_day, settings.timezone,
        settings.week_of_month,
    )  # fmt: skip
