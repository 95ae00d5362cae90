"""A status line for long CLI work (previews, imports, exports), in a module of its own:
commands that show it need not load what `preview` does (the matching engine)."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """A single self-overwriting status line on a terminal; silent otherwise.

    It stays quiet for the first ``delay`` seconds, so short runs print nothing.
    """

    def __init__(self, stream: TextIO, delay: float = 0.5) -> None:
        self.stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.delay = delay
        self.shown = False

    def __call__(self, text: str) -> None:
        if not self.enabled or time.monotonic() - self.start < self.delay:
            return
        self.stream.write(f"\r\033[K{text}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
