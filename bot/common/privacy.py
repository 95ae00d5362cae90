"""Levels are private: shown only to the person themself and to admins.

Two helpers keep it that way:

* :func:`describe_mix` says why a group is interesting without a single number, for intros
  and summaries ("different corners of the company: Finance and Design").
* :func:`find_level_leaks` / :func:`assert_no_level_leak` check a rendered message or view
  (the JSON sent to Slack) for anyone's level being shown to someone else. Tests of every
  surface that mentions people call them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_LEVEL_WORDS = r"(?:level|lvl|grade|seniority|band|niveau|stufe|nivel|n[ií]vel|livello)"
_GAP = r"[\s:#=*_()\[\]\-–—]{0,6}"
LEVEL_EXPRESSION = re.compile(
    rf"(?i:\b{_LEVEL_WORDS}\b){_GAP}(?<![\d.])([1-9])(?![\d.:/])|\bL([1-9])\b"
)
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
# Keys that structure Block Kit rather than show anything to a person.
_STRUCTURAL = {"type", "style", "url", "image_url", "callback_id", "action_id", "block_id"}


@dataclass(frozen=True)
class Leak:
    where: str  # JSON path of the block or value, e.g. "$.blocks[2]"
    reason: str
    text: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        return f"{self.where}: {self.reason}: {shown!r}"


def _attr(member: Any, name: str) -> Any:
    if isinstance(member, Mapping):
        return member.get(name)
    return getattr(member, name, None)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def describe_mix(members: Iterable[Any]) -> str:
    """Why a group is worth a lunch, without levels or numbers.

    ``members`` are Member rows (or anything with a ``department``, or dicts). The phrase
    completes "You come from …", e.g. "different corners of the company: Finance and
    Design". It names departments and nothing that follows from levels: a phrase said only
    of a wide gap ("different stages of your careers") told each member of a pair how far
    the other's level is from their own."""
    people = list(members)
    departments: list[str] = []
    seen: set[str] = set()
    with_department = 0
    for person in people:
        department = " ".join(str(_attr(person, "department") or "").split())
        if department:
            with_department += 1
            if department.casefold() not in seen:
                seen.add(department.casefold())
                departments.append(department)
    if len(departments) >= 2:
        return f"different corners of the company: {_join(departments)}"
    if len(departments) == 1 and with_department == len(people):
        return f"the same corner of the company ({departments[0]}), and still might not have had lunch together"
    return "parts of the company that might not otherwise cross paths"


def _level_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 1 <= value <= 9
    return isinstance(value, str) and re.fullmatch(r"\s*[1-9]\s*", value) is not None


def _collect(value: Any, texts: list[str], mentions: set[str], keyed: list[str]) -> None:
    """Gather shown text, mentioned people and ``"level": n`` pairs from any JSON value."""
    if isinstance(value, str):
        stripped = value.strip()
        if USER_ID.match(stripped):
            mentions.add(stripped)
            return
        if stripped[:1] in "{[":
            try:
                parsed = json.loads(stripped)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                _collect(parsed, texts, mentions, keyed)
                return
        texts.append(value)
        mentions.update(MENTION.findall(value))
    elif isinstance(value, Mapping):
        if value.get("type") == "user" and isinstance(value.get("user_id"), str):
            mentions.add(value["user_id"])
        for key, item in value.items():
            if key in _STRUCTURAL:
                continue
            if str(key).lower() in ("level", "levels", "lvl", "grade"):
                numbers = item if isinstance(item, list | Mapping) else [item]
                if isinstance(numbers, Mapping):
                    numbers = list(numbers.values())
                if any(_level_like(number) for number in numbers):
                    keyed.append(f'"{key}": {json.dumps(item)}')
            _collect(item, texts, mentions, keyed)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, texts, mentions, keyed)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        texts.append(str(value))


def _chunks(payload: Any, path: str = "$") -> Iterable[tuple[str, Any]]:
    """The units that are read together: each block, and each other top-level value."""
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            if key == "blocks" and isinstance(value, list):
                for i, block in enumerate(value):
                    yield f"{path}.blocks[{i}]", block
            elif key not in _STRUCTURAL:
                yield f"{path}.{key}", value
    elif (
        isinstance(payload, list)
        and payload
        and all(isinstance(item, Mapping) and "type" in item for item in payload)
    ):
        for i, block in enumerate(payload):
            yield f"{path}[{i}]", block
    else:
        yield path, payload


def find_level_leaks(
    payload: Any,
    viewer: str | None = None,
    levels: Mapping[str, int | None] | None = None,
) -> list[Leak]:
    """Every place where ``payload`` shows a level to someone who may not see it.

    ``payload`` is what goes to Slack: a message (``text``/``blocks``), a view, a list of
    blocks, or a string. ``viewer`` is the one person who will see it (App Home, an
    ephemeral or a one-person DM); leave it None for anything several people see (group
    DMs, channel posts), where no level may appear at all. A block that mentions nobody but
    the viewer may show the viewer's own level. ``levels`` (user id → level), when given,
    also catches a bare number written next to a mention, e.g. ``<@U2> (7)``.
    """
    leaks: list[Leak] = []
    for where, chunk in _chunks(payload):
        texts: list[str] = []
        mentions: set[str] = set()
        keyed: list[str] = []
        _collect(chunk, texts, mentions, keyed)
        others = mentions - {viewer} if viewer else mentions
        if viewer is not None and not others:
            continue  # only about the viewer: their own level is theirs to see
        text = "\n".join(texts)
        about = f"shown with {', '.join(sorted(others))}" if others else "shown to several people"
        for match in LEVEL_EXPRESSION.finditer(text):
            leaks.append(Leak(where, f"level written out ({about})", match.group(0)))
        for pair in keyed:
            leaks.append(Leak(where, f"level in data ({about})", pair))
        for user_id in sorted(others):
            level = (levels or {}).get(user_id)
            if level is None:
                continue
            near = re.compile(
                rf"<@{user_id}(?:\|[^>]*)?>[*_]*\s*[(\[:·|,\-–—]\s*[*_]*{level}(?![\d:.])"
            )
            for match in near.finditer(text):
                leaks.append(Leak(where, f"{user_id}'s level next to their name", match.group(0)))
    return leaks


def assert_no_level_leak(
    payload: Any,
    viewer: str | None = None,
    levels: Mapping[str, int | None] | None = None,
) -> None:
    """Fail (AssertionError listing each leak) if ``payload`` shows someone else's level."""
    leaks = find_level_leaks(payload, viewer, levels)
    if leaks:
        raise AssertionError("levels shown to the wrong people:\n" + "\n".join(map(str, leaks)))
