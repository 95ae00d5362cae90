"""What the app counts for Prometheus (`GET /metrics`), the same in every process.

gunicorn's workers and the clock are separate processes: each writes its counts to files in
PROMETHEUS_MULTIPROC_DIR (serve makes a temporary one when it is unset, see bot/cli/serve.py), and
`/metrics` adds them up, so a scrape sees the whole deployment whichever worker answers. The
metrics are made on first use, after serve has set the variable.

Labels never hold personal data: no user, channel, workspace or program; only kinds of
request, HTTP statuses, Web API method names and Slack's error codes, each checked to be a
plain identifier (anything else is counted as "other").
"""

from __future__ import annotations

import logging
import os
import re
import threading
from types import SimpleNamespace

from bot.common.config import ConfigError

DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
# Slack waits 3 s for an acknowledgement.
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0)
KINDS = ("command", "action", "view", "event")
_built: SimpleNamespace | None = None
_building = threading.Lock()


def ensure_directory() -> None:
    """PROMETHEUS_MULTIPROC_DIR, made if it is missing, for the processes that share it
    (serve, the clock); one line if it cannot be. A missing one made every metric, and so
    every clock tick, fail: no round ran while the clock looked healthy."""
    directory = multiprocess_directory()
    if directory:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot make {DIRECTORY} {directory!r} ({error.strerror}): name a folder "
                "this user may write, or unset it"
            ) from None


def _build() -> SimpleNamespace:
    """The metrics, made on first use: by then serve has set the directory, whatever was
    imported before (prometheus_client picks in-memory or file values when it is imported).
    Counting must never stop work: where the directory cannot be had, this process keeps
    its counts in memory."""
    from prometheus_client import Counter, Gauge, Histogram, values

    try:
        ensure_directory()
    except ConfigError as error:
        logging.getLogger(__name__).warning("%s; this process keeps its metrics to itself",
                                            error)  # fmt: skip
        os.environ.pop(DIRECTORY, None)
    values.ValueClass = values.get_value_class()
    return SimpleNamespace(
        REQUESTS=Counter(
            "worth_knowing_requests",
            "Requests on /slack/events, by kind (command, action, view, event; unknown if "
            "refused before it was read) and HTTP status",
            ["kind", "status"],
        ),
        ACK_SECONDS=Histogram(
            "worth_knowing_ack_seconds",
            "Seconds from a request's arrival to its acknowledgement, by kind",
            ["kind"],
            buckets=ACK_BUCKETS,
        ),
        ROUNDS_STARTED=Counter("worth_knowing_rounds_started", "Rounds planned"),
        ROUNDS_CLOSED=Counter("worth_knowing_rounds_closed", "Rounds closed"),
        GROUPS_DELIVERED=Counter(
            "worth_knowing_groups_delivered", "Groups whose intro was posted"
        ),
        GROUPS_FAILED=Counter(
            "worth_knowing_groups_failed", "Groups given up on, by Slack's error code", ["error"]
        ),
        SLACK_RATE_LIMITED=Counter(
            "worth_knowing_slack_rate_limited",
            "Web API calls Slack answered 429, by method",
            ["method"],
        ),
        SLACK_RETRIES=Counter(
            "worth_knowing_slack_retries",
            "Web API calls tried again, by method and why (rate_limited, server_error, "
            "connection_error)",
            ["method", "reason"],
        ),
        CLOCK_TICKS=Counter("worth_knowing_clock_ticks", "Clock ticks run"),
        CLOCK_TICK_SECONDS=Histogram(
            "worth_knowing_clock_tick_seconds", "Seconds a clock tick took", buckets=TICK_BUCKETS
        ),
        DUE_WORK=Gauge(
            "worth_knowing_due_work",
            "1 if work of this kind was waiting at the clock's last tick (rounds, closes, "
            "deliveries, checkins, heads_ups, pauses, unscheduled), else 0",
            ["kind"],
            multiprocess_mode="livemax",  # several clocks see the same database
        ),
    )


def _metrics() -> SimpleNamespace:
    global _built
    if _built is None:
        with _building:
            if _built is None:
                _built = _build()
    return _built


def __getattr__(name: str):
    """metrics.GROUPS_DELIVERED and the others, made on first use."""
    if name.isupper() and hasattr(_metrics(), name):
        return getattr(_metrics(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_IDENTIFIER = re.compile(r"[A-Za-z0-9_.]{1,64}")


def label(value: object) -> str:
    """`value` if it is a plain identifier (a Slack error code, a method name), else other."""
    text = str(value)
    return text if _IDENTIFIER.fullmatch(text) else "other"


def request_answered(kind: str, status: str, seconds: float) -> None:
    kind = kind if kind in KINDS else "unknown"
    made = _metrics()
    made.REQUESTS.labels(kind, label(status)).inc()
    made.ACK_SECONDS.labels(kind).observe(seconds)


def group_failed(error: str) -> None:
    _metrics().GROUPS_FAILED.labels(label(error)).inc()


def multiprocess_directory() -> str | None:
    return os.environ.get(DIRECTORY) or None


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: every process's counts added up when they share a directory."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    if multiprocess_directory():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_ended(pid: int) -> None:
    """Drop a dead process's live gauges (its counters keep counting in the totals)."""
    if multiprocess_directory():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
