"""What the app holds about levels, for admins: an export of everyone, an explanation of one.

These show levels, so they are for admins (and the person themself) only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.common.csvfile import write_csv
from bot.domain.levels.sources import ATTRIBUTES, PRECEDENCE, SOURCE_NAMES
from bot.domain.levels.titles import TitleMatch, rules_for
from bot.storage.models import Member

EXPORT_COLUMNS = (
    "team_id",
    "user_id",
    *(column for attribute in ATTRIBUTES for column in (attribute, f"{attribute}_source")),
)


@dataclass(frozen=True)
class Candidate:
    source: str
    value: Any


@dataclass
class AttributeExplanation:
    attribute: str
    value: Any
    source: str | None
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class Explanation:
    team_id: str
    user_id: str
    known: bool
    title: str | None = None
    title_match: TitleMatch | None = None
    title_rules: str = "shipped"
    attributes: list[AttributeExplanation] = field(default_factory=list)

    def get(self, attribute: str) -> AttributeExplanation:
        return next(a for a in self.attributes if a.attribute == attribute)

    def text(self) -> str:
        lines = [f"{self.user_id} in workspace {self.team_id}"]
        if not self.known:
            lines.append("nothing stored: the person is paired as mid-level, in no department")
            return "\n".join(lines)
        for item in self.attributes:
            if item.source is None:
                unknown = (
                    "unknown (paired as mid-level)" if item.attribute == "level" else "unknown"
                )
                lines.append(f"{item.attribute:<11} {unknown}")
                continue
            lines.append(f"{item.attribute:<11} {item.value}  ({SOURCE_NAMES[item.source]})")
            for candidate in item.candidates:
                mark = "  ← used" if candidate.source == item.source else ""
                note = ""
                if candidate.source == "title" and self.title_match is not None:
                    note = f'  from "{self.title}" by {self.title_match.rule} ({self.title_rules} table)'
                lines.append(f"  {candidate.source:<8}  {candidate.value}{mark}{note}")
        if self.title and self.title_match is None:
            lines.append(
                f'job title   "{self.title}" matches no rule of the {self.title_rules} table'
            )
        elif not self.title:
            lines.append("job title   (none read from Slack)")
        return "\n".join(lines)


def explain(session: Session, team_id: str, user_id: str) -> Explanation:
    """Which source set each attribute of one person, and what the others say."""
    member = session.scalar(
        select(Member).where(Member.team_id == team_id, Member.user_id == user_id)
    )
    if member is None:
        return Explanation(team_id, user_id, known=False)
    rules = rules_for(session, team_id)
    explanation = Explanation(
        team_id,
        user_id,
        known=True,
        title=member.title,
        title_match=rules.match(member.title),
        title_rules=rules.origin,
    )
    values = member.values or {}
    for attribute in ATTRIBUTES:
        per_source = values.get(attribute) or {}
        candidates = [
            Candidate(source, per_source[source])
            for source in PRECEDENCE
            if per_source.get(source) is not None
        ]
        explanation.attributes.append(
            AttributeExplanation(
                attribute,
                getattr(member, attribute),
                (member.sources or {}).get(attribute),
                candidates,
            )
        )
    return explanation


def export_rows(session: Session, team_id: str | None = None) -> list[dict[str, Any]]:
    query = select(Member).order_by(Member.team_id, Member.user_id)
    if team_id is not None:
        query = query.where(Member.team_id == team_id)
    rows = []
    for member in session.scalars(query):
        sources = member.sources or {}
        row: dict[str, Any] = {"team_id": member.team_id, "user_id": member.user_id}
        for attribute in ATTRIBUTES:
            row[attribute] = getattr(member, attribute)
            row[f"{attribute}_source"] = sources.get(attribute)
        rows.append(row)
    return rows


def export_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    write_csv(out, EXPORT_COLUMNS, ([row.get(key) for key in EXPORT_COLUMNS] for row in rows))
    return out.getvalue()


def export_table(rows: list[dict[str, Any]]) -> str:
    headers = ("team", "user", *ATTRIBUTES)
    table = [headers]
    for row in rows:
        cells = [row["team_id"], row["user_id"]]
        for attribute in ATTRIBUTES:
            value = row[attribute]
            cells.append("-" if value is None else f"{value} ({row[f'{attribute}_source']})")
        table.append(tuple(cells))
    widths = [max(len(str(line[i])) for line in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )
