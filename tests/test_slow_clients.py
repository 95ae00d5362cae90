"""Slow or stalled clients cannot block a real `python -m bot serve` (one worker, 8 threads):
requests are read whole before a thread takes them, stalled ones are dropped after a few
seconds, and a body over 1 MB is refused before it is read."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from conftest import SIGNING_SECRET, AppProcess, app_env

from bot.edge.http_worker import REQUEST_SECONDS, request_state
from bot.sandbox import signing

pytestmark = pytest.mark.slow

SLOW = 50
# Far above what these answers take on an idle machine (milliseconds), far below a blocked one.
ANSWER_WITHIN = 1.0


@pytest.fixture
def served(slack, settings, tmp_path):
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
    )
    with AppProcess(env, tmp_path, ("--no-clock", "--workers", "1", "--threads", "8")) as app:
        yield app


def _stalled(app: AppProcess, i: int) -> socket.socket:
    """A connection that sends its headers (or part of them) and one byte of body, then stalls."""
    sock = socket.create_connection(("127.0.0.1", app.port), timeout=10)
    if i % 5 == 0:  # slowloris: headers never finished
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Signature: v0=")
    else:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
    return sock


def _timed(call) -> tuple[float, object]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def _health(app: AppProcess) -> int:
    with urllib.request.urlopen(app.url + "/healthz", timeout=10) as response:
        return response.status


def _help(app: AppProcess) -> tuple[int, str]:
    body, headers = signing.slash_command(
        SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x"
    )
    status, _, text = signing.post(app.url + "/slack/events", body, headers)
    return status, text


def test_fifty_stalled_connections_do_not_block_health_or_slack(served):
    stalled = [_stalled(served, i) for i in range(SLOW)]
    try:
        time.sleep(0.3)  # they have all reached the server
        for _ in range(5):
            seconds, status = _timed(lambda: _health(served))
            assert status == 200 and seconds < ANSWER_WITHIN, seconds
            seconds, (status, text) = _timed(lambda: _help(served))
            assert status == 200 and "/meet status" in text and seconds < ANSWER_WITHIN, seconds

        # a stalled request is answered 408 and closed once its time is up
        deadline = time.monotonic() + REQUEST_SECONDS + 5
        answers = []
        for sock in stalled:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                answers.append(sock.recv(200))
            except TimeoutError:
                answers.append(b"(still open)")
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), set(answers)
    finally:
        for sock in stalled:
            sock.close()
    assert "Traceback" not in served.output()


def test_a_body_over_one_megabyte_is_refused_before_it_is_sent(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048577\r\n\r\n"
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 413")
    # one megabyte exactly is read (and, unsigned, refused by the signature check)
    body = b"x" * (1024 * 1024)
    status, _, _ = signing.post(served.url + "/slack/events", body, {"Content-Type": "text/plain"})
    assert status == 401


def test_request_state():
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
    assert request_state(head[:20]) == "more"
    assert request_state(head + b"ab") == "more"
    assert request_state(head + b"abc") == "whole"
    assert request_state(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == "whole"
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert request_state(chunked)[0].startswith("411")
    assert request_state(b"GET /" + b"a" * 70000)[0].startswith("431")
    assert request_state(b"POST / HTTP/1.1\r\ncontent-length: 2000000\r\n\r\n")[0].startswith(
        "413"
    )
