"""Pairing rounds: plan once per slot, deliver exactly once, check in, close."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True)
class RoundReport:
    round_id: int
    program_id: int
    created: bool  # False when an existing round for the slot was resumed
    groups: int
    delivered: int
    failed: int
    unmatched: int
    status: str


def run_round(
    settings: Settings,
    program_id: int,
    slot: dt.datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RoundReport:
    """Plan the round for `slot` (once, whoever else tries) and deliver what is undelivered."""
    raise NotImplementedError


def resume_deliveries(settings: Settings) -> int:
    raise NotImplementedError


def send_due_checkins(settings: Settings, now: dt.datetime) -> int:
    raise NotImplementedError


def close_due_rounds(settings: Settings, now: dt.datetime) -> int:
    raise NotImplementedError
