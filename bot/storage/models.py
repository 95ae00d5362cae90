"""What the app remembers, as SQLAlchemy 2.0 typed models.

Every row is keyed by the Slack team so that one database can serve many workspaces and no
query can reach across them by accident. Times are stored in UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A forgotten person's user id is replaced by this prefix and a random token in every row
# that must keep its shape (groups, history), so counts stay right and nobody is named.
FORGOTTEN_PREFIX = "forgotten-"


class Base(DeclarativeBase):
    pass


def _partial_index(name: str, column: str, where: str) -> Index:
    """An index over the few rows a frequent query wants, on PostgreSQL and SQLite alike."""
    return Index(name, column, postgresql_where=text(where), sqlite_where=text(where))


class Member(Base):
    """A person in a workspace, with what matching needs to know about them."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", name="uq_members_team_user"),
        _partial_index("ix_members_paused_until", "paused_until", "paused_until IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)
    department: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(300))
    # Their manager's user id (HR import or a profile field of type user): reporting lines
    # are kept apart in matching.
    manager: Mapped[str | None] = mapped_column(String(32))
    # Their lunch days ("mon,tue,thu"; None: Monday to Friday) and usual lunch time ("12:30";
    # None: the program's time), for the dates an intro offers.
    lunch_days: Mapped[str | None] = mapped_column(String(32))
    lunch_time: Mapped[str | None] = mapped_column(String(5))
    # "Ask me about": the person's own line for their intros, plain text (escaped when shown)
    about: Mapped[str | None] = mapped_column(String(150))
    # Every source's value per attribute, e.g. {"level": {"admin": 7, "title": 4}}; the
    # level/department/location columns hold the winner so matching reads one column.
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    # Which source set each resolved attribute ("admin", "import", "profile", "self", "title").
    sources: Mapped[dict] = mapped_column(JSON, default=dict)
    profile_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Workspace(Base):
    """A Slack team the app is installed in, and its team-wide choices."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # The Enterprise Grid org the workspace belongs to: OAuth tokens are stored under it, so
    # scheduled work (which has no request to read it from) needs it to find the token.
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    uninstalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Labels of the custom profile fields that hold level, department, location and manager.
    level_field: Mapped[str | None] = mapped_column(String(200))
    department_field: Mapped[str | None] = mapped_column(String(200))
    location_field: Mapped[str | None] = mapped_column(String(200))
    manager_field: Mapped[str | None] = mapped_column(String(200))
    # An admin's own job-title table, replacing the shipped one when set.
    title_rules: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Program(Base):
    """Pairing in one channel: its schedule and its rules."""

    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_programs_team_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cadence: Mapped[str] = mapped_column(String(16), default="weekly")
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday = 0
    # For monthly programs: which occurrence of the weekday (1-4, or -1 for the last).
    week_of_month: Mapped[int | None] = mapped_column(Integer)
    # For every-2/4-weeks programs: a date in a week that has a round, fixing the parity.
    anchor_date: Mapped[dt.date | None] = mapped_column(Date)
    time_of_day: Mapped[str] = mapped_column(String(5), default="12:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    group_size: Mapped[int] = mapped_column(Integer, default=2)
    tz_window_hours: Mapped[int] = mapped_column(Integer, default=3)
    allow_guests: Mapped[bool] = mapped_column(Boolean, default=False)
    # People of another organisation in a Slack Connect channel take part too.
    allow_external: Mapped[bool] = mapped_column(Boolean, default=False)
    post_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    heads_up: Mapped[bool] = mapped_column(Boolean, default=False)
    self_service_levels: Mapped[bool] = mapped_column(Boolean, default=False)
    # Also keep people apart from their manager's manager (direct lines always are).
    skip_level_apart: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_in_touch_weeks: Mapped[int] = mapped_column(Integer, default=12)
    # Nobody picked a lunch day two working days after the intro: the app picks the first.
    auto_schedule: Mapped[bool] = mapped_column(Boolean, default=True)
    checkin_after_days: Mapped[int] = mapped_column(Integer, default=3)
    # The next slot the clock will run, kept here so a tick is one indexed query.
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    heads_up_sent_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the channel's members (ChannelMember) were last read in full, and why the last
    # attempt failed if it did.
    members_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    members_error: Mapped[str | None] = mapped_column(String(200))

    rounds: Mapped[list[Round]] = relationship(back_populates="program")


class ChannelMember(Base):
    """Someone in a program's channel, as the app last saw it: read in full at each round and
    at setup, kept up by member_joined/member_left events. The Home tab and `/meet status`
    count from here instead of asking Slack. `kind` is Slack's view of the person (see
    bot.domain.services.membership), never their choices, which live in Participation."""

    __tablename__ = "channel_members"
    __table_args__ = (
        UniqueConstraint("program_id", "user_id", name="uq_channel_members_program_user"),
        Index("ix_channel_members_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))


class Participation(Base):
    """A person's choices in one program: left it, paused it, was welcomed."""

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("program_id", "user_id", name="uq_participations_program_user"),
        _partial_index(
            "ix_participations_paused_until", "paused_until", "paused_until IS NOT NULL"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    welcomed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Consecutive rounds with no answer and no meeting; reset by any answer.
    silent_rounds: Mapped[int] = mapped_column(Integer, default=0)
    nudged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Admin(Base):
    """People made admins of the app by a workspace admin (`/meet admins add`)."""

    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_admins_team_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficeDays(Base):
    """The days an office is open for lunch, set by an admin (`/meet office-days`): people
    with that location are offered only those days."""

    __tablename__ = "office_days"
    __table_args__ = (UniqueConstraint("team_id", "location_key", name="uq_office_days_location"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    location_key: Mapped[str] = mapped_column(String(200))  # casefolded, spaces collapsed
    location: Mapped[str] = mapped_column(String(200))  # as the admin wrote it
    days: Mapped[str] = mapped_column(String(32))  # "mon,tue,thu"


class Avoid(Base):
    """Someone a person asked never to be grouped with (`/meet avoid`): private to them, and a
    hard rule for matching in every program of the workspace."""

    __tablename__ = "avoids"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "avoided_id", name="uq_avoids_team_user_avoided"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    avoided_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Round(Base):
    """One scheduled pairing in a program; (program, slot) is unique so it is made once."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("program_id", "slot", name="uq_rounds_program_slot"),
        Index("ix_rounds_status", "status"),
        # The clock asks "which open rounds close now?" every tick.
        _partial_index("ix_rounds_open_closes_at", "closes_at", "closed_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # planned -> delivering -> delivered -> closed
    status: Mapped[str] = mapped_column(String(16), default="planned")
    seed: Mapped[int | None] = mapped_column(Integer)
    checkin_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checkin_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    summary_posted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Deliveries started (first run and resumes); the last allowed one gives up on what
    # Slack keeps refusing for a while, so a round cannot stay "delivering" for ever.
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship(back_populates="rounds")
    groups: Mapped[list[Group]] = relationship(
        back_populates="round", order_by="Group.position", cascade="all, delete-orphan"
    )
    unmatched: Mapped[list[UnmatchedMember]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )


class Group(Base):
    """A group of a round, with where its delivery stands and whether it met."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("round_id", "position", name="uq_groups_round_position"),
        _partial_index("ix_groups_touch_next_at", "touch_next_at", "touch_next_at IS NOT NULL"),
        _partial_index("ix_groups_auto_at", "auto_at", "auto_at IS NOT NULL"),
        _partial_index("ix_groups_remind_at", "remind_at", "remind_at IS NOT NULL"),
        _partial_index("ix_groups_check_at", "check_at", "check_at IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    organiser_id: Mapped[str | None] = mapped_column(String(32))
    starter: Mapped[str | None] = mapped_column(Text)
    # pending -> opened -> posting -> posted, or failed with an error
    delivery: Mapped[str] = mapped_column(String(16), default="pending")
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # Set just before the intro is sent: after a crash, where to look for it in the DM.
    post_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    checkin_ts: Mapped[str | None] = mapped_column(String(32))
    # met / not_yet / couldnt, latest answer wins
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_by: Mapped[str | None] = mapped_column(String(32))
    # Everyone who answered a check-in, so silence is tracked per person.
    responders: Mapped[list] = mapped_column(JSON, default=list)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The dates offered for lunch ({"start": ISO UTC, "video": bool}; None: not worked out
    # yet) and the one agreed, if any.
    offered: Mapped[list | None] = mapped_column(JSON)
    lunch_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the clock still has to do for that lunch, each cleared when claimed: pick the
    # first day if nobody has (auto_at), remind on the day (remind_at), ask "did you meet?"
    # the day after (check_at).
    auto_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Everyone chose "let's keep in touch": the next reminder in the group DM (None: none).
    touch_next_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship(back_populates="groups")
    # By user id (the order SQLite's unique index gave them anyway), so names are listed alike
    # on every backend and after a move.
    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupMember.user_id"
    )


class AfterLunch(Base):
    """A member's choice after lunch: "thanks" (a note was sent; its words are not kept) or
    "keep_in_touch". Admins only ever see counts."""

    __tablename__ = "after_lunch"
    __table_args__ = (Index("ix_after_lunch_group", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LunchVote(Base):
    """A member's "I can do this date" for their group's lunch."""

    __tablename__ = "lunch_votes"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", "start", name="uq_lunch_votes_group_user_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", name="uq_group_members_group_user"),
        Index("ix_group_members_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    # After forget-me this becomes an anonymous placeholder that still keeps pairs apart.
    user_id: Mapped[str] = mapped_column(String(40))

    group: Mapped[Group] = relationship(back_populates="members")


class UnmatchedMember(Base):
    """Someone the engine could not place, kept so they are told why and go first next time."""

    __tablename__ = "unmatched_members"
    __table_args__ = (UniqueConstraint("round_id", "user_id", name="uq_unmatched_round_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)

    round: Mapped[Round] = relationship(back_populates="unmatched")


class ProcessedEvent(Base):
    """Event ids already handled, so Slack's retries are processed once across processes."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ClockTick(Base):
    """When a clock last ran its tick, and how often it ticks, so `/healthz` and `python -m
    bot doctor` (in any process) can tell a stopped clock."""

    __tablename__ = "clock_ticks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_tick_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    tick_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SeenSignature(Base):
    """Slack request signatures accepted within the last few minutes, so a captured request
    sent again (a replay) is refused by every web process. Slack's own retries are signed
    anew, so they are not refused here (ProcessedEvent handles those)."""

    __tablename__ = "seen_signatures"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Slack's X-Slack-Request-Timestamp; once it is older than the window, the row can go.
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Lock(Base):
    """A named lock held by one process or thread until `expires_at` (see services.locks)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
