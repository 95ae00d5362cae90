"""Workspace-wide choices about levels: which profile fields to read, which title table."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.domain.levels.profiles import FIELD_COLUMNS, field_ids, profile_fields, retitle
from bot.domain.levels.titles import TitleRules
from bot.storage.db import insert_missing
from bot.storage.models import Workspace


class UnknownField(ValueError):
    """A label that no custom profile field of the workspace has; the message lists them."""


def workspace_row(session: Session, team_id: str, name: str | None = None) -> Workspace:
    """The workspace's row as it is, made if missing (one-token installs may have none yet)."""
    workspace = session.get(Workspace, team_id)
    if workspace is not None:
        return workspace
    insert_missing(session, Workspace, [{"team_id": team_id, "name": name}], ["team_id"])
    return session.get(Workspace, team_id)


@dataclass(frozen=True)
class FieldMapping:
    level: str | None
    department: str | None
    location: str | None
    manager: str | None

    def lines(self) -> list[str]:
        return [
            f"{attribute:<10}  {getattr(self, attribute) or '(not read from profiles)'}"
            for attribute in FIELD_COLUMNS
        ]


def current_mapping(session: Session, team_id: str) -> FieldMapping:
    workspace = session.get(Workspace, team_id)
    return FieldMapping(
        *(
            getattr(workspace, column, None) if workspace else None
            for column in FIELD_COLUMNS.values()
        )
    )


def map_fields(
    session: Session,
    team_id: str,
    client: WebClient | None = None,
    **labels: str | None,
) -> FieldMapping:
    """Name the profile fields for ``level=``, ``department=``, ``location=``, ``manager=``.

    A label of ``""`` stops reading that attribute from profiles; an attribute not given is
    left as it is. With a client, each label is checked against ``team.profile.get`` and an
    unknown one raises UnknownField (case and spacing may differ; Slack's spelling is kept).
    """
    unknown = set(labels) - set(FIELD_COLUMNS)
    if unknown:
        raise TypeError(f"unknown attribute(s): {', '.join(sorted(unknown))}")
    chosen = {
        attribute: " ".join(label.split())
        for attribute, label in labels.items()
        if label is not None
    }
    wanted = {attribute: label for attribute, label in chosen.items() if label}
    if client is not None and wanted:
        fields = profile_fields(client, team_id)
        ids, missing = field_ids(fields, wanted)
        if missing:
            have = ", ".join(f'"{f.get("label")}"' for f in fields if f.get("label")) or "none"
            raise UnknownField(
                f'no custom profile field is labelled "{missing[0]}"; the workspace has: {have}'
            )
        spelled = {f["id"]: f.get("label") for f in fields}
        wanted = {attribute: spelled[ids[attribute]] for attribute in wanted}
    workspace = workspace_row(session, team_id)
    for attribute in chosen:
        setattr(workspace, FIELD_COLUMNS[attribute], wanted.get(attribute) or None)
    return current_mapping(session, team_id)


def set_title_rules(session: Session, team_id: str, rules: list[tuple[str, int]] | None) -> int:
    """Use the workspace's own title table (None: back to the shipped one).

    Everyone's title level is recomputed from their stored title; returns how many people's
    stored values changed.
    """
    if rules is not None:
        rules = TitleRules(rules, origin="workspace").as_list()  # validates every pattern
    workspace = workspace_row(session, team_id)
    workspace.title_rules = rules or None
    session.flush()
    return retitle(session, team_id)
