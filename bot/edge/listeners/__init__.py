"""Slack listeners, grouped by kind; each only translates a request for a service."""

from __future__ import annotations

import functools
import logging

from slack_bolt import App

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


def register(app: App, deps) -> None:
    from bot.edge.listeners import actions, commands, events, views

    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    views.register(app, deps)
