"""The /meet slash command."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot import texts


def register(app: App, deps) -> None:
    @app.command("/meet")
    def meet(ack: Ack, command: dict) -> None:
        words = (command.get("text") or "").split()
        if not words or words[0].lower() == "help":
            ack(text=texts.HELP)
            return
        ack(text=texts.unknown_command(words[0]))
