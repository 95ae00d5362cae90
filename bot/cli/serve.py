"""`python -m bot serve`: gunicorn in HTTP mode, or a Socket Mode connection.

gunicorn's master forks its workers, so it holds no thread, scheduler or database
connection: a lock held by one of them at the fork would stay held forever in the worker.
Scheduled work therefore runs in a clock process of its own (`python -m bot clock`) that the
master starts after its workers, restarts if it dies and stops when it stops; the clock
also stops by itself if the master disappears without a word (SIGKILL). Socket Mode keeps
the same clock child, so both modes stop alike: the round under way is finished first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.common import metrics
from bot.common.config import ConfigError, Settings, web_concurrency
from bot.slack.client import asked_at_start, check_bot_token, is_transient, reason, web_client
from bot.storage.db import dispose_engines
from bot.storage.models import utcnow

# gunicorn reads WEB_CONCURRENCY as it is imported (its default number of workers), where a
# bad value would be its traceback: checked first, as the settings check it once .env is read.
web_concurrency(os.environ.get("WEB_CONCURRENCY"))

from gunicorn.app.base import BaseApplication  # noqa: E402
from gunicorn.arbiter import Arbiter  # noqa: E402

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    """Builds the app in each worker, after the fork, so no connection is shared."""

    def __init__(
        self,
        settings: Settings,
        options: dict,
        clock: ClockChild | None,
        identity: SlackResponse | None = None,
    ):
        self._settings = settings
        self._identity = identity  # the token as checked before forking: workers need no Slack
        self._options = options
        self._clock = clock
        self._started = utcnow()  # a worker started later still counts from here (health)
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            if key in self.cfg.settings:  # older gunicorn lacks some settings
                self.cfg.set(key, value)

    def load(self):
        from bot.edge.web import create_wsgi

        clock_tick = self._clock.tick_seconds if self._clock is not None else None
        return create_wsgi(
            self._settings, clock_tick=clock_tick, started_at=self._started, identity=self._identity
        )

    def run(self):
        try:
            _Master(self, self._clock).run()
        except RuntimeError as error:  # gunicorn's own way of saying it cannot start
            raise ConfigError(str(error)) from None


class ClockChild:
    """`python -m bot clock` as a child of serve: started, restarted after a pause that
    grows while it keeps dying (a bad setting must not spin), and stopped."""

    STOP_SECONDS = 30  # a round under way is finished first; a later tick resumes it anyway
    FIRST_PAUSE = 1.0
    LONGEST_PAUSE = 60.0

    def __init__(self):
        from bot.jobs.clock import tick_seconds

        self.tick_seconds = tick_seconds()  # CLOCK_TICK_SECONDS (serve checked it first)
        self.command = [
            sys.executable, "-m", "bot", "clock", "--parent-pid", str(os.getpid()),
            "--tick", str(self.tick_seconds),
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.pause = self.FIRST_PAUSE
        self.not_before = 0.0
        self.started_at = 0.0
        self.stopping = False

    def keep_running(self) -> None:
        """Start the clock if it is not running and its pause is over; never blocks."""
        if self.stopping or self.running():
            return
        now = time.monotonic()
        if self.process is not None:  # it died: wait a while, longer each time in a row
            code = self.process.returncode
            self.process = None
            if now - self.started_at > self.LONGEST_PAUSE:
                self.pause = self.FIRST_PAUSE
            self.not_before = now + self.pause
            how = f"was stopped by signal {-code}" if code < 0 else f"exited (code {code})"
            log.error("clock process %s; restarting in %g s", how, self.pause)
            self.pause = min(self.pause * 2, self.LONGEST_PAUSE)
        if now < self.not_before:
            return
        self.process = subprocess.Popen(self.command)
        self.started_at = now
        log.info("clock process started (pid %s)", self.process.pid)

    def running(self) -> bool:
        """Whether the clock lives; reaps it if it died (poll waits for exactly its pid)."""
        if self.process is None:
            return False
        if self.process.poll() is None:
            return True
        _process_ended(self.process.pid)
        return False

    def stop(self) -> None:
        """Ask the clock to stop (SIGTERM); `wait` then makes sure it did."""
        self.stopping = True
        if self.running():
            self.process.terminate()

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=self.STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("clock process did not stop within %s s; killing it", self.STOP_SECONDS)
            self.process.kill()
            self.process.wait()
        _process_ended(self.process.pid)


def _process_ended(pid: int) -> None:
    """A worker or the clock is gone: its live gauges go too (its counts stay in the totals)."""
    metrics.process_ended(pid)


def _child_exit(_server, worker) -> None:  # gunicorn's hook, in the master
    _process_ended(worker.pid)


@contextlib.contextmanager
def metrics_directory(settings: Settings) -> Iterator[None]:
    """Where every process of this serve (workers, clock) writes its metrics, for /metrics to
    add up: PROMETHEUS_MULTIPROC_DIR if set, else a temporary directory removed on exit. Set
    before any metric is made (bot/common/metrics.py makes them on first use)."""
    given = os.environ.get(metrics.DIRECTORY)
    if not settings.metrics or given:
        metrics.ensure_directory()
        yield
        return
    path = tempfile.mkdtemp(prefix="worth-knowing-metrics-")
    os.environ[metrics.DIRECTORY] = path
    try:
        yield
    finally:
        os.environ.pop(metrics.DIRECTORY, None)
        shutil.rmtree(path, ignore_errors=True)


class _Master(Arbiter):
    """gunicorn's master, which also supervises the clock process from its own loop (no
    thread): checked after each signal or second, reaped before gunicorn reaps workers."""

    def __init__(self, app, clock: ClockChild | None):
        self.clock = clock
        super().__init__(app)

    def manage_workers(self):
        super().manage_workers()
        if self.clock is not None:
            self.clock.keep_running()

    def handle_chld(self):
        if self.clock is not None:
            self.clock.running()
        super().handle_chld()

    def reap_workers(self):
        # gunicorn's waitpid(-1) would take the clock's exit status too (then poll() says 0)
        if self.clock is not None:
            self.clock.running()
        super().reap_workers()

    def stop(self, graceful=True):
        if self.clock is not None:
            self.clock.stop()  # it finishes its work while the workers finish theirs
        super().stop(graceful)
        if self.clock is not None:
            self.clock.wait()


def serve_http(settings: Settings, host: str, workers: int, threads: int, with_clock: bool) -> None:
    with metrics_directory(settings):  # first: before any process makes a metric
        _serve_http(settings, host, workers, threads, with_clock)


def _serve_http(settings: Settings, host: str, workers: int, threads: int, with_clock: bool):
    _can_listen(host, settings.port)
    # Here, so a bad token stops serve with one line, not a crash; and the workers use this
    # answer, so one started again later boots even while Slack is in trouble.
    identity = None if settings.oauth else check_bot_token(settings)
    dispose_engines()  # connections opened before the fork must not be shared with workers
    import bot.edge.web  # noqa: F401 - code only (no app, thread or connection): workers boot faster

    options = {
        "bind": f"{host}:{settings.port}",
        "workers": workers,
        # gthread, reading each request whole before a thread takes it (slow clients)
        "worker_class": "bot.edge.http_worker.BufferedThreadWorker",
        "keepalive": 0,  # so every request is read that way
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if settings.log_level == "DEBUG" else None,
        "loglevel": settings.log_level.lower(),
        "logger_class": "bot.common.logs.GunicornLogger",  # redacts like every other log
        "proc_name": "worth-knowing",
        "control_socket_disable": True,
        "child_exit": _child_exit,
    }
    clock = ClockChild() if with_clock else None  # one clock, however many workers
    _Gunicorn(settings, options, clock, identity).run()


def _can_listen(host: str, port: int) -> None:
    """A port in use or a host that is not this machine's, said in one line before gunicorn
    starts (which retries for seconds, logging each failure, and exits without advice)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:  # (create_server adds the address to strerror; gaierror < 0)
        reason = os.strerror(error.errno) if (error.errno or 0) > 0 else error.strerror
        raise ConfigError(
            f"cannot listen on {host}:{port} ({reason}): stop what listens there or set "
            "PORT to a free port, and give --host an address of this machine (default 0.0.0.0)"
        ) from None


def serve_socket_mode(settings: Settings, with_clock: bool) -> None:
    """One connection to Slack until SIGTERM or Ctrl-C, or until Slack refuses the app token
    for good. Stopping finishes what was under way, as the HTTP workers and the clock do: the
    clock (the same supervised child as over HTTP) its round, the pools their requests."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.edge.app import LISTENER_THREADS, WORK_THREADS, Pool, build_app
    from bot.jobs.clock import STOP_CHECK_SECONDS

    listeners = Pool(max_workers=LISTENER_THREADS, thread_name_prefix="listener")
    work = Pool(max_workers=WORK_THREADS, thread_name_prefix="work")
    app = build_app(settings, listener_executor=listeners, work_executor=work)
    app_token = settings.app_token or ""
    url = _socket_mode_url(settings, app_token)
    with metrics_directory(settings):
        clock = ClockChild() if with_clock else None
        stop = _Stop()
        handler = SocketModeHandler(app, app_token)
        handler.client.wss_uri = url  # the first connection; the client asks for later ones
        handler.client.issue_new_wss_url = _refused_ends(handler.client.issue_new_wss_url, stop)
        signal.signal(signal.SIGTERM, lambda signum, _frame: stop.now(f"signal {signum}"))
        signal.signal(signal.SIGINT, lambda signum, _frame: stop.now(f"signal {signum}"))
        log.info("connecting to Slack in Socket Mode")
        handler.connect()
        while not stop.reason:
            if clock is not None:
                clock.keep_running()
            time.sleep(STOP_CHECK_SECONDS)
        # later signals change nothing (one while the interpreter exits would kill it)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info("stopping (%s): finishing the work under way", stop.reason)
        if clock is not None:
            clock.stop()  # it finishes its round while the pools finish their requests
        handler.close()  # nothing new arrives
        listeners.shutdown(wait=True)  # before the work pool: a listener may hand it work
        work.shutdown(wait=True)
        if clock is not None:
            clock.wait()
        log.info("stopped")
        if stop.refused:
            raise ConfigError(_refused_app_token(stop.refused))


class _Stop:
    """Why serve stops. Plain attributes, not an Event: an Event set from a signal handler can
    deadlock, should the signal come while the main thread holds the Event's own lock."""

    reason = ""
    refused = ""  # Slack's code, when it refused the app token while connected

    def now(self, reason: str, refused: str = "") -> None:
        self.reason, self.refused = reason, refused


def _refused_ends(issue_new_wss_url, stop: _Stop):
    """Slack refusing the app token when the client asks for a new connection (the token was
    revoked, Socket Mode turned off: any answer but "not now") stops serve with one line: the client itself would log a
    traceback and try again every ten seconds for ever, up but deaf."""

    def asking() -> str:
        try:
            return issue_new_wss_url()
        except SlackApiError as error:
            if not is_transient(error):  # "never", not "not now": no retry will connect
                code = reason(error)
                stop.now(f"Slack refused SLACK_APP_TOKEN ({code})", refused=code)
                # ends the client's thread that asked, quietly: the client logs a traceback
                # for any Exception, and a thread ending in SystemExit (exactly) prints nothing
                raise SystemExit from None
            raise

    return asking


def _socket_mode_url(settings: Settings, app_token: str) -> str:
    """The first WebSocket URL, asked for here so that a token Slack refuses, or Slack out of
    reach, is one clear line instead of the handler's logged error and traceback."""
    client = web_client(settings, quick=True)  # someone waits: a few retries, not minutes
    return asked_at_start(
        settings, "open a Socket Mode connection", _refused_app_token,
        lambda: client.apps_connections_open(app_token=app_token)["url"],
    )  # fmt: skip


def _refused_app_token(code: str) -> str:
    return (
        f"Slack refused SLACK_APP_TOKEN ({code}): create an app-level token with "
        "connections:write under Basic Information > App-Level Tokens, and turn on Socket Mode"
    )

