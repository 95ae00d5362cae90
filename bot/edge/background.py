"""Acknowledge first, work after: Slack waits 3 seconds for an acknowledgement, and a listener
that raises after acknowledging would make Bolt answer Slack with an error."""

from __future__ import annotations

import functools
import logging

from slack_sdk.errors import SlackApiError

from bot.slack import texts

log = logging.getLogger(__name__)


def guarded(func):
    """For a listener that acknowledges first: log what fails after the ack, raise nothing.

    (Bolt forgets an acknowledgement when the listener then raises, and would answer Slack
    with an error after its 3 seconds.)
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:
            log.exception("%s failed after its acknowledgement", func.__name__)
            return None

    return wrapper


def in_background(deps):
    """Acknowledge at once (when the listener takes `ack`), then run it on the work pool."""

    def decorate(func):
        answering = _answering(func)

        @functools.wraps(func)
        def listener(*args, **kwargs):
            ack = kwargs.get("ack")
            if ack is not None:
                ack()
            deps.later(answering, *args, **kwargs)

        return listener

    return decorate


def _answering(func):
    """Slack refusing a call after the ack (a trigger that expired while the work waited, a
    message it will not update, a conversation archived) is said to the person who clicked,
    where the button was; otherwise they would see nothing at all."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SlackApiError as error:
            respond, body = kwargs.get("respond"), kwargs.get("body") or {}
            if respond is None or not body.get("response_url"):
                raise  # nowhere to answer: logged as a failure (guarded)
            code = str(error.response.get("error", "error"))
            log.warning("%s: Slack answered %s; the person was told", func.__name__, code)
            respond(text=texts.slack_refused(code), response_type="ephemeral",
                    replace_original=False)  # fmt: skip
            return None

    return run
