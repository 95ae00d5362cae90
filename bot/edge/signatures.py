"""Slack's request signatures, checked on the raw bytes before anything parses the body.

Bolt parses a body before it checks the signature, and slack_sdk reads the timestamp with
int(): a forged request whose body was `{` or whose timestamp was `abc` became a 500 and a
traceback. Here a request is refused (401) unless its timestamp is a plain number within
Slack's five minutes and its v0 signature matches the body byte for byte; and a signature is
accepted once only, whichever web process sees it (a replayed request is refused too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import threading
import time

from sqlalchemy import delete

from bot.storage.db import insert_missing, session_scope
from bot.storage.models import SeenSignature

log = logging.getLogger(__name__)

WINDOW_SECONDS = 300  # Slack's: a request signed longer ago (or ahead) than this is stale
PRUNE_EVERY_SECONDS = 60
LOG_EVERY_SECONDS = 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def refusal(secret: str, timestamp: str | None, signature: str | None, body: bytes) -> str | None:
    """None when Slack signed this body within the window; otherwise why not (for the log)."""
    if timestamp is None or signature is None:
        return "no signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "a timestamp that is not a number"
    if abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        return "a stale timestamp"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode()
    # WSGI gives header values as latin-1 text; compare bytes, whatever characters they hold.
    if not hmac.compare_digest(expected, signature.encode("latin-1", "replace")):
        return "a signature that does not match"
    return None


class SeenSignatures:
    """Which signatures were accepted within the window, in the database (so shared by
    every worker and process); rows older than the window are pruned now and then."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def first_time(self, signature: str, timestamp: str) -> bool:
        """Record the signature; False if some process had already recorded it."""
        signed_at = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
        with session_scope(self.database_url) as session:
            row = {"signature": signature, "signed_at": signed_at}
            inserted = insert_missing(session, SeenSignature, [row], ["signature"])
            if self._prune_due():
                cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2 * WINDOW_SECONDS)
                session.execute(delete(SeenSignature).where(SeenSignature.signed_at < cutoff))
        return inserted == 1

    def _prune_due(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._next_prune:
                return False
            self._next_prune = now + PRUNE_EVERY_SECONDS
            return True


class RefusalLog:
    """One short line per refused request at most once a minute, with a count: forged
    requests must not flood the log (nor any traceback)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0.0
        self._quiet = 0

    def refused(self, reason: str) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._quiet += 1
                return
            more, self._quiet, self._next = self._quiet, 0, now + LOG_EVERY_SECONDS
        also = f" (and {more} more since the last such line)" if more else ""
        log.warning("refused a request with %s%s", reason, also)
