"""The pacer keeps delivery under Slack's limits, on a fake clock (no real waiting)."""

from __future__ import annotations

import pytest

from bot.domain.services.pacing import HEADROOM, TIERS_PER_MINUTE, Pacer


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def calls_in(pacer: Pacer, clock: FakeClock, method: str, count: int, **kwargs) -> float:
    """How long `count` back-to-back calls take on the fake clock."""
    start = clock.now
    for _ in range(count):
        pacer.wait(method, **kwargs)
    return clock.now - start


@pytest.mark.parametrize("scale", [1, 60])
def test_conversations_open_runs_just_under_tier_3(scale):
    clock = FakeClock()
    pacer = Pacer(scale, clock=clock, sleep=clock.sleep)
    per_second = TIERS_PER_MINUTE["conversations.open"] * scale / 60
    calls = int(per_second * 60) + 1  # a minute's worth after the first call
    elapsed = calls_in(pacer, clock, "conversations.open", calls)
    rate = (calls - 1) / elapsed
    # a one-second burst at the start, then the limit less the headroom
    assert HEADROOM * per_second <= rate <= per_second


def test_one_conversation_gets_about_one_message_a_second_others_are_not_held_back():
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    same = calls_in(pacer, clock, "chat.postMessage", 6, conversation="G1")
    assert 5 / HEADROOM * 0.99 <= same <= 5 / HEADROOM * 1.01
    others = calls_in(pacer, clock, "chat.postMessage", 6, conversation=None)
    assert others == 0  # the workspace-wide limit is far higher


def test_methods_without_a_known_limit_never_wait():
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    assert calls_in(pacer, clock, "team.info", 100) == 0
