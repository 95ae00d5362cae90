"""Levels, departments and locations from Slack profiles: custom fields and job titles.

An admin names the custom profile fields (by their label, e.g. "Grade") that hold level,
department and location; ``team.profile.get`` turns labels into field ids, matched
case-insensitively. Each person's profile is read with ``users.profile.get`` when they join
and at each round; someone read recently is skipped, which keeps a round within Slack's
rate limits (the client waits out any HTTP 429 it still gets). All Slack calls happen
before anything is written, and the reads before them are ended first, so no database
transaction stays open across them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.levels.sources import (
    ATTRIBUTES,
    TEXT_MAX,
    InvalidValue,
    apply,
    member_for,
    normalise,
    one_line,
    opted_out_everywhere,
)
from bot.domain.levels.titles import rules_for
from bot.slack.client import TOKEN_ERRORS
from bot.storage.db import end_read
from bot.storage.models import Member, Workspace, utcnow

log = logging.getLogger(__name__)

SOURCE = "profile"
DEFAULT_MAX_AGE = dt.timedelta(hours=12)
TITLE_MAX = 300
# Errors after which no other profile of the workspace can be read either.
FATAL_ERRORS = TOKEN_ERRORS | {"team_access_not_granted", "ratelimited"}
# Attribute → the Workspace column naming the profile field it is read from.
FIELD_COLUMNS = {
    "level": "level_field",
    "department": "department_field",
    "location": "location_field",
    "manager": "manager_field",  # a field of type "user": its value is a user id
}


@dataclass
class SyncReport:
    fetched: int = 0  # profiles read from Slack
    fresh: int = 0  # skipped: read less than max_age ago
    failed: int = 0  # could not be read (unknown user, Slack error)
    changed: int = 0  # people whose stored values changed
    unreadable: int = 0  # a mapped level field held no number from 1 to 9
    missing_fields: list[str] = field(default_factory=list)  # mapped labels Slack lacks
    error: str | None = None  # why reading stopped early, if it did


def field_labels(workspace: Workspace | None) -> dict[str, str]:
    """Attribute → the profile field label an admin mapped to it."""
    if workspace is None:
        return {}
    labels = {attribute: getattr(workspace, column) for attribute, column in FIELD_COLUMNS.items()}
    return {
        attribute: label.strip() for attribute, label in labels.items() if label and label.strip()
    }


def profile_fields(client: WebClient, team_id: str) -> list[dict]:
    """The workspace's custom profile fields: [{"id": "Xf1", "label": "Grade", ...}]
    (``team_id`` names the workspace to an org-wide installation's token)."""
    response = client.team_profile_get(team_id=team_id)
    return list(((response.get("profile") or {}).get("fields")) or [])


def field_ids(fields: list[dict], labels: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Attribute → field id for each mapped label, and the labels Slack has no field for."""
    by_label = {}
    for entry in fields:
        label = " ".join(str(entry.get("label") or "").split()).casefold()
        if label and label not in by_label:
            by_label[label] = entry["id"]
    ids, missing = {}, []
    for attribute, label in labels.items():
        found = by_label.get(" ".join(label.split()).casefold())
        if found:
            ids[attribute] = found
        else:
            missing.append(label)
    return ids, missing


def level_from_field(text: str | None) -> int | None:
    """A level written in a profile field: "5", "L5", "Level 5", "Grade 7 - Senior"."""
    if not text:
        return None
    numbers = re.findall(r"\d+", text)
    if len(numbers) != 1:
        return None
    number = int(numbers[0])
    return number if 1 <= number <= 9 else None


def field_value(profile: dict, field_id: str) -> str | None:
    entry = (profile.get("fields") or {}).get(field_id)
    if not isinstance(entry, dict):
        return None
    value = str(entry.get("value") or "").strip() or str(entry.get("alt") or "").strip()
    return value or None


def sync_profiles(
    client: WebClient,
    session: Session,
    team_id: str,
    user_ids: Iterable[str],
    *,
    max_age: dt.timedelta | None = DEFAULT_MAX_AGE,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Read these people's Slack profiles and store what the mapped fields and titles say.

    People read less than ``max_age`` ago are skipped (``max_age=None`` reads everyone).
    Missing people get a Member row. Errors never raise: an unreadable profile is counted
    and skipped, and a workspace-wide error (revoked token, missing scope) stops reading
    but keeps what was read. The caller commits what this writes; it has nothing
    uncommitted when it calls, as the reads made before Slack is asked are committed.
    """
    now = now or utcnow()
    report = SyncReport()
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    if not wanted:
        return report
    members = _read_again(session, team_id, wanted)
    due = []
    for user_id in wanted:
        member = members.get(user_id)
        synced = member.profile_synced_at if member else None
        if max_age is not None and synced is not None and now - synced < max_age:
            report.fresh += 1
        else:
            due.append(user_id)
    if not due:
        return report

    labels = field_labels(session.get(Workspace, team_id))
    end_read(session)  # only reads happened; the people are read again below
    ids: dict[str, str] | None = {}
    if labels:
        try:
            ids, report.missing_fields = field_ids(profile_fields(client, team_id), labels)
        except SlackApiError as error:
            # Without field ids, leave profile values as they are; titles still work.
            report.error = f"team.profile.get: {error.response.get('error')}"
            log.warning("cannot read profile fields of %s: %s", team_id, report.error)
            ids = None
        for label in report.missing_fields:
            log.warning("workspace %s has no profile field labelled %r", team_id, label)

    profiles: dict[str, dict] = {}
    for done, user_id in enumerate(due, start=1):
        try:
            response = client.users_profile_get(user=user_id)
        except SlackApiError as error:
            code = error.response.get("error")
            report.failed += 1
            log.warning("cannot read the profile of %s in %s: %s", user_id, team_id, code)
            if code in FATAL_ERRORS:
                report.error = f"users.profile.get: {code}"
                break
            continue
        profiles[user_id] = response.get("profile") or {}
        report.fetched += 1
        if progress is not None:
            progress(done, len(due))

    # Reading Slack took a while (minutes, at its rate limits, for a large workspace): what
    # others wrote meanwhile (an HR import, an admin) is read again, so that only what the
    # profiles say is changed on top of it, instead of a stale copy written back over it.
    members = _read_again(session, team_id, list(profiles))
    rules = rules_for(session, team_id)
    # a manager field naming someone who asked to be forgotten keeps nothing of them
    withdrawn = opted_out_everywhere(session, team_id) if ids and "manager" in ids else set()
    for user_id, profile in profiles.items():
        member = members.get(user_id) or member_for(session, team_id, user_id)
        changed = False
        title = one_line(profile.get("title") or "")[:TITLE_MAX] or None
        if member.title != title:
            member.title = title
            changed = True
        changed |= apply(member, "level", rules.level(title), "title").changed
        if ids is not None:
            for attribute in ATTRIBUTES:
                value = field_value(profile, ids[attribute]) if attribute in ids else None
                if attribute == "level" and value is not None:
                    parsed = level_from_field(value)
                    if parsed is None:
                        report.unreadable += 1
                        # the value itself is not logged: it is someone's level, however written
                        log.info("%s: the profile's level field is not a number", user_id)
                    value = parsed
                try:
                    value = normalise(attribute, value)
                except InvalidValue:  # a manager field that holds no user: nobody
                    value = None if attribute == "manager" else normalise(
                        attribute, str(value)[:TEXT_MAX]
                    )
                if attribute == "manager" and value in withdrawn:
                    value = None
                changed |= apply(member, attribute, value, SOURCE).changed
        member.profile_synced_at = now
        if changed:
            report.changed += 1
    return report


def _read_again(session: Session, team_id: str, user_ids: list[str]) -> dict[str, Member]:
    """These people's rows as the database holds them now (not as this session last saw)."""
    members: dict[str, Member] = {}
    for start in range(0, len(user_ids), 500):
        query = select(Member).where(
            Member.team_id == team_id, Member.user_id.in_(user_ids[start : start + 500])
        )
        for member in session.scalars(query.execution_options(populate_existing=True)):
            members[member.user_id] = member
    return members


def retitle(session: Session, team_id: str) -> int:
    """Re-apply the title table to everyone's stored title; the number of people changed."""
    rules = rules_for(session, team_id)
    changed = 0
    for member in session.scalars(select(Member).where(Member.team_id == team_id)):
        if apply(member, "level", rules.level(member.title), "title").changed:
            changed += 1
    return changed
