"""Acknowledge first, work after: Slack waits 3 seconds for an acknowledgement, and a listener
that raises after acknowledging would make Bolt answer Slack with an error."""

from __future__ import annotations

import functools
import logging

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
        @functools.wraps(func)
        def listener(*args, **kwargs):
            ack = kwargs.get("ack")
            if ack is not None:
                ack()
            deps.later(func, *args, **kwargs)

        return listener

    return decorate
