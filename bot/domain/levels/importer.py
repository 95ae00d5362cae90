"""The HR import: a CSV of people with level, department, location and/or manager.

A header row names the columns: ``user_id`` or ``email`` says who (emails are matched
through one paginated ``users.list`` walk), then any of ``level``, ``department``,
``location`` and ``manager`` (a user id or an email). A column that is present is the HR truth for everyone in the file: an empty
cell removes the value an earlier import gave. Columns that are absent are left alone, and
so are people not in the file. Importing the same file again changes nothing.

A ``level_source`` (etc.) column, as ``levels export --csv`` writes, says where each value
came from: only values an import gave are imported again, so re-importing an export never
turns a job title's or a profile field's guess into HR data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.common.csvfile import InputError, read_table
from bot.domain.levels.sources import (
    ATTRIBUTES,
    PRECEDENCE,
    InvalidValue,
    apply,
    member_for,
    normalise,
    opted_out_everywhere,
)
from bot.storage.models import Member

SOURCE = "import"
ALIASES = {
    "user_id": "user_id",
    "user": "user_id",
    "slack_id": "user_id",
    "slack_user_id": "user_id",
    "member_id": "user_id",
    "email": "email",
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "work_email": "email",
    "level": "level",
    "grade": "level",
    "department": "department",
    "dept": "department",
    "location": "location",
    "office": "location",
    "site": "location",
    "manager": "manager",
    "manager_id": "manager",
    "manager_email": "manager",
    "reports_to": "manager",
    "line_manager": "manager",
}


@dataclass(frozen=True)
class Problem:
    """One row the import could not use, as the one line the admin sees."""

    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        return str(InputError(self.file, self.line, self.column, self.message))


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    matched: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # values whose _source column names another source than an import
    skipped: int = 0  # rows of people who opted out of the app (or asked to be forgotten)
    unknown: list[Problem] = field(default_factory=list)
    bad: list[Problem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    source_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False
    applied: bool = False

    @property
    def problems(self) -> list[Problem]:
        return sorted(self.unknown + self.bad, key=lambda p: p.line)

    @property
    def refused(self) -> bool:
        """Nothing was applied although this was no dry run: every row unusable, or --strict."""
        return not self.applied and not self.dry_run

    @property
    def verdict(self) -> str | None:
        """The summary's last line: what happened to the file as a whole."""
        if self.dry_run:
            return 'dry run: nothing was changed ("updated" counts what an import would change)'
        if not self.applied and self.strict and self.problems:
            return "--strict: nothing was changed because of the rows above"
        if not self.applied:
            return "no row could be applied (see the rows above): nothing was changed"
        if self.problems:
            return "the rows above were skipped; every other row was applied"
        return None

    def summary(self, verdict: bool = True) -> str:
        """The counts and every problem, then (unless ``verdict`` is False) the verdict."""
        lines = [f"{self.file}: {self.rows} row{'s' if self.rows != 1 else ''}"]
        if self.ignored_columns:
            lines.append("  ignored columns: " + ", ".join(self.ignored_columns))
        lines += [
            f"  matched    {self.matched:6d}",
            f"  updated    {self.updated:6d}",
            f"  unchanged  {self.unchanged:6d}",
        ]
        if self.source_columns:
            lines.append(
                f"  kept       {self.kept:6d}  values left as they are, not made HR data: their "
                "_source column says a job title or profile field guessed them, or an admin or "
                "the person set them"
            )
        if self.skipped:
            # A count only: which rows they were would say who used forget-me.
            lines.append(
                f"  skipped    {self.skipped:6d}  people who opted out of the app: nothing "
                "about them is stored"
            )
        lines += [f"  unknown    {len(self.unknown):6d}"]
        lines += [f"    {problem}" for problem in self.unknown]
        lines.append(f"  bad rows   {len(self.bad):6d}")
        lines += [f"    {problem}" for problem in self.bad]
        if verdict and self.verdict:
            lines.append(self.verdict)
        return "\n".join(lines)


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str | None
    is_bot: bool
    deleted: bool


@dataclass
class Directory:
    """Everyone in a workspace, by id and by email, from one walk of ``users.list``."""

    by_id: dict[str, SlackUser]
    by_email: dict[str, str]

    @property
    def emails_visible(self) -> bool:
        return bool(self.by_email)


def walk_users(
    client: WebClient,
    team_id: str,
    page_size: int = 200,
    progress: Callable[[int, bool], None] | None = None,
) -> Directory:
    """``team_id`` names the workspace to an org-wide installation's token (Slack refuses
    users.list without it) and is ignored for a workspace's own.

    ``progress`` hears (people read, whether that was the last page) after each page:
    users.list allows some 20 pages a minute, so a large workspace takes minutes."""
    by_id: dict[str, SlackUser] = {}
    by_email: dict[str, str] = {}
    for page in client.users_list(team_id=team_id, limit=page_size):
        for user in page.get("members") or []:
            email = ((user.get("profile") or {}).get("email") or "").strip().casefold() or None
            is_bot = bool(user.get("is_bot")) or user.get("id") == "USLACKBOT"
            entry = SlackUser(user["id"], email, is_bot, bool(user.get("deleted")))
            by_id[entry.id] = entry
            if email and not is_bot and (email not in by_email or by_id[by_email[email]].deleted):
                by_email[email] = entry.id
        if progress is not None:
            progress(len(by_id), not (page.get("response_metadata") or {}).get("next_cursor"))
    return Directory(by_id, by_email)


def _columns(
    name: str, header: list[str], line: int
) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Map canonical column → header key, and attribute → its ``_source`` column's key (as an
    export writes them); raise InputError naming the header's ``line`` if the file cannot be
    imported."""
    found: dict[str, str] = {}
    ignored: list[str] = []
    for key in header:
        canonical = ALIASES.get(key)
        if canonical is None:
            ignored.append(key)
        elif canonical in found:
            raise InputError(
                name, line, key, f'names the same column as "{found[canonical]}"; keep one'
            )
        else:
            found[canonical] = key
    sources = {
        attribute: f"{attribute}_source"
        for attribute in ATTRIBUTES
        if attribute in found and f"{attribute}_source" in ignored
    }
    ignored = [key for key in ignored if key not in sources.values()]
    if "user_id" not in found and "email" not in found:
        raise InputError(
            name,
            line,
            None,
            'has no "user_id" or "email" column to say who each row is; '
            f"the header is: {', '.join(header)}",
        )
    if not any(attribute in found for attribute in ATTRIBUTES):
        raise InputError(
            name,
            line,
            None,
            'has no "level", "department", "location" or "manager" column, so nothing to import; '
            f"the header is: {', '.join(header)}",
        )
    return found, ignored, sources


def _manager(directory: Directory, cell: str, person: str) -> tuple[str, str | None]:
    """A manager cell (a user id or an email) as a user id, or why it can't be one."""
    text = cell.strip()
    if "@" in text:
        found = directory.by_email.get(text.casefold())
        if found is None:
            return "", f'no Slack user with email "{text[:60]}"'
    else:
        user = directory.by_id.get(text) or directory.by_id.get(text.upper())
        if user is None or user.is_bot:
            return "", f'no Slack user "{text[:40]}" in this workspace'
        found = user.id
    if found == person:
        return "", "is the person themself: a manager is someone else"
    return found, None


def import_levels(
    client: WebClient,
    session: Session,
    team_id: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    reading: Callable[[int, bool], None] | None = None,
    data: bytes | None = None,
    directory: Directory | None = None,
) -> ImportReport:
    """Apply an HR file to one workspace and report what happened.

    File-level problems (missing, empty, not UTF-8, no usable columns, no rows) raise
    InputError and change nothing. Row problems are listed in the report: the good rows are
    applied, or, with ``strict``, nothing is. With ``dry_run`` (or a refused strict import)
    the session is rolled back; otherwise the caller commits. ``progress`` hears (done, total)
    while rows are applied, ``reading`` the walk of the workspace's members (see walk_users).
    """
    name = str(path)
    header, header_line, records = read_table(path, data)
    columns, ignored, sources = _columns(name, header, header_line)
    report = ImportReport(
        name,
        rows=len(records),
        columns=[c for c in ("user_id", "email", *ATTRIBUTES) if c in columns],
        ignored_columns=ignored,
        source_columns=list(sources.values()),
        dry_run=dry_run,
        strict=strict,
    )
    if not records:
        raise InputError(name, None, None, "has no rows after the header: add one person a line")
    if directory is None:
        directory = walk_users(client, team_id, progress=reading)

    def bad(line: int, canonical: str | None, message: str) -> None:
        report.bad.append(
            Problem(name, line, columns.get(canonical) if canonical else None, message)
        )

    if "email" in columns and "user_id" not in columns and not directory.emails_visible:
        raise InputError(
            name,
            header_line,
            columns["email"],
            "Slack shows no email addresses to the app: add the users:read.email scope and "
            "reinstall, or use a user_id column",
        )

    seen: dict[str, int] = {}
    planned: list[tuple[str, dict[str, object]]] = []
    withdrawn = opted_out_everywhere(session, team_id)
    for record in records:
        cells = {canonical: record.cells.get(key, "") for canonical, key in columns.items()}
        if record.extra:
            bad(record.line, None, f"has {record.extra} more cell(s) than the header has columns")
            continue
        if record.missing:
            # A cut-off row must not read as empty cells: those remove what HR said before.
            absent = ", ".join(header[-record.missing :])
            bad(
                record.line,
                None,
                f"has {record.missing} fewer cell(s) than the header has columns ({absent} "
                "missing): add them, or leave a cell empty between commas to remove a value",
            )
            continue
        user_id = cells.get("user_id") or ""
        email = (cells.get("email") or "").casefold()
        if not user_id and not email:
            bad(
                record.line,
                "user_id" if "user_id" in columns else "email",
                "is empty: who is this row?",
            )
            continue
        if user_id:
            user = directory.by_id.get(user_id) or directory.by_id.get(user_id.upper())
            if user is None or user.is_bot:
                report.unknown.append(
                    Problem(
                        name,
                        record.line,
                        columns["user_id"],
                        f'no Slack user "{user_id}" in this workspace',
                    )
                )
                continue
            if email and directory.by_email.get(email, user.id) != user.id:
                bad(
                    record.line,
                    "email",
                    f'"{email}" belongs to {directory.by_email[email]}, not to {user.id}',
                )
                continue
            resolved = user.id
        else:
            if "@" not in email:
                bad(record.line, "email", f'"{email}" is not an email address')
                continue
            resolved = directory.by_email.get(email)
            if resolved is None:
                report.unknown.append(
                    Problem(
                        name, record.line, columns["email"], f'no Slack user with email "{email}"'
                    )
                )
                continue
        if resolved in seen:
            bad(
                record.line,
                "user_id" if user_id else "email",
                f"same person as line {seen[resolved]} ({resolved}); keep one row per person",
            )
            continue
        seen[resolved] = record.line
        if resolved in withdrawn:  # HR's file does not outrank their wish, as a round does not
            report.skipped += 1
            continue
        values: dict[str, object] = {}
        row_ok = True
        kept = 0
        for attribute in ATTRIBUTES:
            if attribute not in cells:
                continue
            source = record.cells.get(sources.get(attribute, ""), "").casefold()
            if source and source != SOURCE:
                if source not in PRECEDENCE:
                    report.bad.append(
                        Problem(
                            name,
                            record.line,
                            sources[attribute],
                            f'"{source[:40]}" is not a source: one of {", ".join(PRECEDENCE)}, '
                            "or empty for HR data",
                        )
                    )
                    row_ok = False
                    break
                kept += 1  # another source's value, exported: not HR's word
                continue
            if attribute == "manager" and cells["manager"]:
                manager, problem = _manager(directory, cells["manager"], resolved)
                if problem:
                    bad(record.line, "manager", problem)
                    row_ok = False
                    break
                # a reporting line to someone who asked to be forgotten keeps nothing of them
                cells["manager"] = "" if manager in withdrawn else manager
            try:
                values[attribute] = normalise(attribute, cells[attribute] or None)
            except InvalidValue as error:
                text = str(error)
                if attribute != "level":
                    text = f'"{cells[attribute][:40]}…" {text}'
                bad(record.line, attribute, text)
                row_ok = False
                break
        if row_ok:
            planned.append((resolved, values))
            report.kept += kept

    report.matched = len(planned)
    existing = {
        member.user_id: member
        for member in session.scalars(select(Member).where(Member.team_id == team_id))
    }
    for done, (user_id, values) in enumerate(planned, start=1):
        member = existing.get(user_id) or member_for(session, team_id, user_id)
        changed = False
        for attribute, value in values.items():
            changed |= apply(member, attribute, value, SOURCE).changed
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if progress is not None and (done % 100 == 0 or done == len(planned)):
            progress(done, len(planned))

    # a row skipped for someone who opted out was handled as asked: not a failed import
    handled = bool(planned) or bool(report.skipped)
    report.applied = handled and not dry_run and not (strict and report.problems)
    if report.applied:
        session.flush()
    else:
        session.rollback()
    return report
