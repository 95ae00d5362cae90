"""Slack listeners, grouped by kind; each only translates a request for a service."""

from __future__ import annotations

from slack_bolt import App

from bot.edge.listeners import actions, commands, events, views


def register(app: App, deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    views.register(app, deps)
