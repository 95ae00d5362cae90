"""Slack messages and views as a person reads them: names for mentions, plain text for mrkdwn.

The demo prints what people would see in Slack; Slack itself turns ``<@U123>`` into a name
and draws blocks, so this does the same for a terminal.
"""

from __future__ import annotations

import html
import re

_USER = re.compile(r"<@([^|>]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^>]+)>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def text(mrkdwn: str, names: dict[str, str], channels: dict[str, str]) -> str:
    """One mrkdwn string as plain text with @names and #channels."""
    out = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), mrkdwn)
    out = _CHANNEL.sub(lambda m: "#" + (m.group(2) or channels.get(m.group(1), m.group(1))), out)
    out = _DATE.sub(lambda m: m.group(1), out)
    out = _SPECIAL.sub(lambda m: "@" + m.group(1), out)
    out = _LINK.sub(lambda m: m.group(2), out)
    out = _BARE_LINK.sub(lambda m: m.group(1), out)
    out = _EMPHASIS.sub(lambda m: m.group(2), out)
    return html.unescape(out)


def _element_text(element: dict) -> str:
    inner = element.get("text")
    if isinstance(inner, dict):
        return inner.get("text", "")
    return inner or element.get("alt_text", "")


def blocks(items: list[dict], names: dict[str, str], channels: dict[str, str]) -> str:
    """Block Kit blocks as lines of text; buttons as [ label ]."""
    lines: list[str] = []
    for block in items:
        kind = block.get("type")
        if kind == "header":
            lines.append(_element_text(block).upper())
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "section":
            if block.get("text"):
                lines.append(text(_element_text(block), names, channels))
            for field in block.get("fields") or []:
                lines.append("  " + text(field.get("text", ""), names, channels))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                lines.append(f"  [ {_element_text(accessory)} ]")
        elif kind == "context":
            parts = [text(_element_text(e), names, channels) for e in block.get("elements", [])]
            lines.append("  " + "  ".join(p for p in parts if p))
        elif kind == "actions":
            buttons = [
                f"[ {_element_text(e)} ]"
                for e in block.get("elements", [])
                if e.get("type") == "button"
            ]
            if buttons:
                lines.append("  ".join(buttons))
    return "\n".join(lines)


def message(body: dict, names: dict[str, str], channels: dict[str, str]) -> str:
    """A posted message or a response_url reply: its blocks if any, else its text."""
    if body.get("blocks"):
        return blocks(body["blocks"], names, channels)
    return text(body.get("text") or "", names, channels)
