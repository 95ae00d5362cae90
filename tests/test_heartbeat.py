"""The clock's heartbeat row: what /healthz and the doctor read."""

from __future__ import annotations

import datetime as dt

from conftest import statements_run

from bot.domain.services import heartbeat

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def test_the_latest_tick_wins_and_a_steady_tick_is_one_statement(migrated_url):
    assert heartbeat.last_beat(migrated_url) is None
    heartbeat.record(migrated_url, T0, tick_seconds=30)
    assert heartbeat.last_beat(migrated_url) == heartbeat.Beat(T0, 30)

    later = T0 + dt.timedelta(seconds=30)
    with statements_run(migrated_url) as statements:
        heartbeat.record(migrated_url, later, tick_seconds=60)
    assert heartbeat.last_beat(migrated_url) == heartbeat.Beat(later, 60)
    assert len(statements) == 1  # the update alone

    # a clock whose tick is older than the one noted (a slow second clock) changes nothing
    heartbeat.record(migrated_url, T0 + dt.timedelta(seconds=10), tick_seconds=5)
    assert heartbeat.last_beat(migrated_url) == heartbeat.Beat(later, 60)
