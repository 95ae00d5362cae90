"""Actions listeners."""

from slack_bolt import App


def register(app: App, deps) -> None:
    return None
