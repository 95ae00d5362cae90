"""Job title → level, by an editable table of rules (``bot/data/titles.csv`` by default).

A rule is a pattern and a level. Titles and patterns are compared in lower case, without
accents and punctuation, as whole words: ``"Sr. Software-Engineer"`` reads as
``"sr software engineer"``. In a pattern, ``*`` inside a word matches any letters
(``*entwickler*`` matches ``Softwareentwicklerin``), ``*`` on its own matches one word, and
``^`` / ``$`` tie the pattern to the start / end of the title. The first rule that matches
wins, so a table lists specific phrases before general words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from sqlalchemy.orm import Session

from bot.common.csvfile import InputError, read_table
from bot.domain.levels.sources import InvalidValue, parse_level
from bot.storage.models import Workspace

SHIPPED = Path(str(resources.files("bot").joinpath("data/titles.csv")))


@dataclass(frozen=True)
class Rule:
    pattern: str
    level: int
    regex: re.Pattern[str]
    position: int  # 1-based place in the table, for explanations

    def __str__(self) -> str:
        return f'rule {self.position} "{self.pattern}" → {self.level}'


@dataclass(frozen=True)
class TitleMatch:
    title: str
    level: int
    rule: Rule


def normalise_title(text: str, keep: str = "") -> str:
    """Lower case, accents and punctuation removed, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(ch if ch.isalnum() or ch in keep else " " for ch in text)
    return " ".join(text.split())


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A pattern as described in the module docstring; ValueError when it matches nothing."""
    raw = pattern.strip()
    start = raw.startswith("^")
    end = raw.endswith("$") and len(raw) > 1
    words = normalise_title(raw.strip("^$"), keep="*").split()
    if not words or all(set(word) == {"*"} for word in words):
        raise ValueError("has no letters to match")
    parts = [re.escape(word).replace(r"\*", r"\w*") for word in words]
    body = " ".join(parts)
    prefix = "^" if start else r"(?<!\w)"
    suffix = "$" if end else r"(?!\w)"
    return re.compile(prefix + body + suffix)


class TitleRules:
    """An ordered rule table; ``match(title)`` gives the first matching rule."""

    def __init__(self, rules: list[tuple[str, int]], origin: str = "shipped"):
        self.origin = origin
        self.rules: list[Rule] = []
        for position, (pattern, level) in enumerate(rules, start=1):
            self.rules.append(Rule(pattern, int(level), compile_pattern(pattern), position))

    def match(self, title: str | None) -> TitleMatch | None:
        if not title:
            return None
        text = normalise_title(title)
        if not text:
            return None
        for rule in self.rules:
            if rule.regex.search(text):
                return TitleMatch(title, rule.level, rule)
        return None

    def level(self, title: str | None) -> int | None:
        found = self.match(title)
        return found.level if found else None

    def as_list(self) -> list[list]:
        return [[rule.pattern, rule.level] for rule in self.rules]

    def __len__(self) -> int:
        return len(self.rules)


def read_rules(path: str | Path, data: bytes | None = None) -> list[tuple[str, int]]:
    """Rules from a CSV with columns ``pattern`` and ``level`` (others, e.g. ``note``, ignored).

    Raises InputError naming the file, line and column of the first bad rule.
    """
    name = str(path)
    header, header_line, records = read_table(path, data)
    for column in ("pattern", "level"):
        if column not in header:
            raise InputError(
                name, header_line, None, f'has no "{column}" column; the header needs pattern,level'
            )
    rules: list[tuple[str, int]] = []
    for record in records:
        pattern = record.cells["pattern"]
        try:
            compile_pattern(pattern)
        except ValueError as error:
            raise InputError(name, record.line, "pattern", f'"{pattern}" {error}') from None
        try:
            level = parse_level(record.cells["level"])
        except InvalidValue as error:
            raise InputError(name, record.line, "level", str(error)) from None
        rules.append((pattern, level))
    if not rules:
        raise InputError(name, None, None, "has no rules: add one pattern,level row a line")
    return rules


@lru_cache(maxsize=1)
def shipped_rules() -> TitleRules:
    return TitleRules(read_rules(SHIPPED), origin="shipped")


@lru_cache(maxsize=64)
def _custom(rules: tuple[tuple[str, int], ...]) -> TitleRules:
    return TitleRules(list(rules), origin="workspace")


def rules_for(session: Session, team_id: str) -> TitleRules:
    """The workspace's own table when an admin set one, else the shipped table."""
    workspace = session.get(Workspace, team_id)
    if workspace is not None and workspace.title_rules:
        return _custom(tuple((str(p), int(lvl)) for p, lvl in workspace.title_rules))
    return shipped_rules()
