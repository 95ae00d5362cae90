"""A gunicorn worker that reads each request whole before a thread takes it.

gunicorn's threaded worker hands a connection to a thread as soon as it is readable, and the
thread then blocks until the whole request has come: eight clients that send their headers and
stall hold all eight threads, with no read timeout, and nothing else is answered. Here the
worker's own event loop reads requests without blocking (as a reverse proxy would) until the
headers and the Content-Length body are in, and only then gives them to a thread. A request
not in within REQUEST_SECONDS is answered 408; a body over MAX_BODY_BYTES is refused (413)
before it is read; headers over MAX_HEAD_BYTES get 431; a chunked body gets 411 (Slack always
sends Content-Length). Connections are not kept alive, so every request is read this way.

It relies on gunicorn's gthread worker (gunicorn 27): `accept`, `enqueue_req`, `handle`,
`murder_pending` and the connection's parser are what it builds on.
"""

from __future__ import annotations

import errno
import selectors
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

# Slack's requests are a few kilobytes and must be answered within 3 seconds.
REQUEST_SECONDS = 5.0
MAX_BODY_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024

MORE = "more"
WHOLE = "whole"


def request_state(data: bytes) -> str | tuple[str, str]:
    """MORE while the request is still coming, WHOLE once it is all there (or malformed in a
    way gunicorn's parser will answer itself), else the (status, text) to refuse it with."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEAD_BYTES:
            return "431 Request Header Fields Too Large", "request headers too large"
        return MORE
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return "411 Length Required", "send the body with a Content-Length"
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit():
                return WHOLE  # the parser answers 400
            length = int(value)
    if length > MAX_BODY_BYTES:
        return "413 Content Too Large", "request body too large"
    return WHOLE if len(data) - (end + 4) >= length else MORE


class BufferedThreadWorker(ThreadWorker):
    """gthread, but a thread only ever sees a request that has fully arrived."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: deque[TConn] = deque()  # in order of arrival, so of deadline

    def handle_quit(self, sig, frame):
        """Quick shutdown (SIGQUIT, and SIGINT on Ctrl-C): leave the loop at once instead of
        raising SystemExit inside whatever the signal interrupted. Raised in a finalizer (a
        garbage collector's callback while the worker boots, say), Python prints it as a
        traceback on a plain Ctrl-C."""
        self.alive = False
        self.cfg.worker_int(self)

    def accept(self, listener):
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking
        conn.incoming = bytearray()
        conn.buffered = None
        conn.deadline = time.monotonic() + REQUEST_SECONDS
        self.reading.append(conn)
        self.poller.register(client, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn, client):
        try:
            data = client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self._close(conn)
            return
        conn.incoming += data
        state = request_state(bytes(conn.incoming))
        if state == MORE:
            return
        self._stop_reading(conn)
        if state == WHOLE:
            conn.buffered, conn.incoming = bytes(conn.incoming), None
            conn.data_ready = True
            self.enqueue_req(conn)
        else:
            self._refuse(conn, *state)

    def handle(self, conn):
        """In a thread: hand the parser the bytes already read, then serve as gthread does."""
        buffered, conn.buffered = conn.buffered, None
        if buffered is not None:
            try:
                conn.sock.setblocking(True)
                conn.init()
            except OSError:
                return False
            conn.parser.unreader.unread(buffered)
        return super().handle(conn)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].deadline <= now:
            conn = self.reading[0]
            self._stop_reading(conn)
            self._refuse(conn, "408 Request Timeout", "request not received in time")

    def _stop_reading(self, conn) -> None:
        self.reading.remove(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _refuse(self, conn, status: str, text: str) -> None:
        body = (text + "\n").encode()
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            conn.sock.send(head.encode() + body)  # small: fits the socket's buffer at once
        except OSError:
            pass
        self._close(conn)

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()
