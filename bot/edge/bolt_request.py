"""Slack's request bodies read as Slack means them, for Bolt.

Bolt takes any form body holding the letters "payload" for an interactive payload; a slash
command whose text says "payload" (`/meet about payload systems`) has none, so Bolt reads it
as an empty request and answers 404, which Slack shows the person as a failed command. A
body of a shape Slack never sends is refused here, before Bolt's middleware indexes it. The
HTTP edge and the in-process dispatch of tests and the demo both build requests here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

from bot.edge import payload_shape


class NotFromSlack(ValueError):
    """A body of a shape Slack never sends (bot/edge/payload_shape.py)."""


def bolt_request(body: str, query=None, headers=None) -> BoltRequest:
    request = BoltRequest(body=body, query=query, headers=headers)
    if not request.body and "payload" in body and request.content_type != "application/json":
        form = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in form:  # a form Bolt mistook for an interactive payload
            request.body = form
            request.context = build_context(BoltContext({}), form)
    wrong = payload_shape.problem(request.body)
    if wrong is not None:
        raise NotFromSlack(wrong)
    return request
