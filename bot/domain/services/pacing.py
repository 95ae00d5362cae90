"""Client-side pacing by Slack's rate-limit tiers.

Delivering a big round means hundreds of `conversations.open` (Tier 3, about 50 a minute)
and `chat.postMessage` (about one a second per conversation) calls. Waiting for each call's
token keeps us just under those limits instead of sleeping a fixed time per call or
hammering Slack until it answers 429 (which slack_sdk's retry handler still covers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Requests per minute Slack allows per workspace (Web API tiers), for the methods a round uses.
TIERS_PER_MINUTE: dict[str, float] = {
    "conversations.open": 50,  # Tier 3
    "chat.postMessage": 600,  # "special": about 1 per second per conversation, bursts allowed
    "conversations.history": 50,  # Tier 3
    "users.info": 100,  # Tier 4
}
# conversations.history by how the app is distributed: (requests a minute, largest page).
# Since 29 May 2025 a newly created app distributed to other organisations without Slack
# Marketplace approval gets 1 request a minute and at most 15 messages a page; internal
# (customer-built) and Marketplace apps keep Tier 3.
HISTORY_LIMITS: dict[str, tuple[float, int]] = {
    "internal": (50, 50),
    "marketplace": (50, 50),
    "unlisted": (1, 15),
}
PER_CONVERSATION_PER_MINUTE = 60.0
# Aim a little under each limit: a 429 costs at least a whole second of Retry-After.
HEADROOM = 0.95


class _Bucket:
    def __init__(self, per_minute: float, burst: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.stamp: float | None = None

    def reserve(self, now: float) -> float:
        """Take one token and return how long to wait before using it."""
        if self.stamp is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Pacer:
    """Token buckets per method (and per conversation where Slack limits by conversation).

    `scale` multiplies every limit, for workspaces (or test servers) with other limits.
    A small burst lets the first calls go at once, as Slack's own limits do.
    """

    def __init__(
        self,
        scale: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        burst_seconds: float = 1.0,
    ):
        self.scale = scale
        self._clock = clock
        self._sleep = sleep
        self._burst_seconds = burst_seconds
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._tiers = dict(TIERS_PER_MINUTE)
        self._lock = threading.Lock()

    def set_limit(self, method: str, per_minute: float) -> None:
        """Pace `method` at another workspace-wide limit than its tier's."""
        with self._lock:
            self._tiers[method] = per_minute
            self._buckets.pop((method, None), None)

    def _bucket(self, method: str, conversation: str | None) -> _Bucket | None:
        key = (method, conversation)
        bucket = self._buckets.get(key)
        if bucket is None:
            per_minute = (
                PER_CONVERSATION_PER_MINUTE if conversation else self._tiers.get(method)
            )
            if per_minute is None:
                return None
            per_minute *= self.scale * HEADROOM
            bucket = _Bucket(per_minute, burst=per_minute / 60.0 * self._burst_seconds)
            self._buckets[key] = bucket
        return bucket

    def wait(self, method: str, conversation: str | None = None) -> float:
        """Block until a call of `method` fits under its limits; return seconds waited."""
        with self._lock:
            now = self._clock()
            buckets = [self._bucket(method, None)]
            if conversation is not None:
                buckets.append(self._bucket(method, conversation))
            delay = max((b.reserve(now) for b in buckets if b is not None), default=0.0)
        if delay > 0:
            self._sleep(delay)
        return delay
