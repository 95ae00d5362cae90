"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set) and helpers to run the app as a real process."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import freezegun
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")

# pytest times each test with _pytest.timing's clock: a test that freezes time in a fixture
# would be listed by --durations as taking decades
freezegun.configure(extend_ignore_list=["_pytest.timing"])


# .ci/run runs the suite twice side by side, on SQLite (0) and on PostgreSQL (1), and sets this
# accordingly: a test that uses no database gives the same answer in both, so it runs in only
# one of them, chosen by its name; the PostgreSQL run, whose database tests are the slower,
# takes one in four of them.
SHARE = os.environ.get("TESTS_WITHOUT_DATABASE_SHARE")


def pytest_collection_modifyitems(config, items):
    if SHARE in ("0", "1"):
        mine, others = [], []
        for item in items:
            needs_database = "database_url" in item.fixturenames or "postgres" in item.keywords
            ours = (zlib.crc32(item.nodeid.encode()) % 4 == 0) == (SHARE == "1")
            (mine if needs_database or ours else others).append(item)
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = mine
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="set TEST_DATABASE_URL to run PostgreSQL tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


IDLE_CUT = 2.0  # seconds; the app's own work between two statements stays well below it, even
# on a loaded machine (at 1 s, a round computing its lunch days was cut off once in CI)


def idle_cut(url: str) -> str:
    """The PostgreSQL test URL with sessions ended once idle inside a transaction for
    IDLE_CUT, as managed databases do with a longer limit: with a Slack call made slower than
    that, a job or request that waits for it inside a transaction fails. (At 0.1 s, a round's
    own matching on a loaded machine was cut off too.)"""
    return url + f"%20-cidle_in_transaction_session_timeout%3D{int(IDLE_CUT * 1000)}"


@pytest.fixture
def database_url(tmp_path):
    """An empty database, migrated by the test or the app under test.

    On PostgreSQL each test gets its own schema, so tests never see each other's rows.
    """
    from bot.storage.db import dispose_engines

    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        dispose_engines()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    with _pg_admin().begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with _pg_admin().begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@functools.cache
def _pg_admin():
    """Makes and drops the tests' schemas: one engine for the whole run."""
    return create_engine(PG_URL)


_MIGRATED_SQLITE: list[Path] = []  # one migrated file a test run, copied for each test
_MIGRATION_SQL: list[str] = []  # the statements one migration ran on PostgreSQL, as one script


@pytest.fixture
def migrated_url(database_url, tmp_path_factory):
    """An empty database at the newest revision: made once a test run by `migrate`, then
    repeated for each test (Alembic's own work took half a second a test, some 4 minutes
    of a run). On SQLite, a copy of the migrated file; on PostgreSQL, each test's schema
    gets the statements the migration ran (its tables are named without a schema, found on
    the search path). Either way `migrate` then finds the head revision and changes nothing;
    tests/test_migrations.py migrates from empty and from every revision. (The reads a
    migration makes, of the catalog and of the revision, are not repeated.)"""
    from bot.storage.db import dispose_engines, migrate

    if database_url.startswith("postgresql"):
        if _MIGRATION_SQL:
            replay = create_engine(database_url, poolclass=NullPool)
            with replay.begin() as connection:
                connection.exec_driver_sql(_MIGRATION_SQL[0])
            replay.dispose()
        else:
            with statements_run(database_url) as statements:
                migrate(database_url)
            writes = [(sql, parameters) for sql, parameters in statements
                      if not sql.lstrip().upper().startswith("SELECT")]  # fmt: skip
            assert not any(parameters for _, parameters in writes)  # one script holds them
            _MIGRATION_SQL.append(";\n".join(sql for sql, _ in writes))
    elif database_url.startswith("sqlite:///"):
        if not _MIGRATED_SQLITE:
            template = tmp_path_factory.mktemp("migrated") / "template.db"
            migrate(f"sqlite:///{template}")
            dispose_engines()
            with contextlib.closing(sqlite3.connect(template)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
            _MIGRATED_SQLITE.append(template)
        shutil.copyfile(_MIGRATED_SQLITE[0], database_url.removeprefix("sqlite:///"))
    migrate(database_url)
    return database_url


@contextmanager
def statements_run(database_url: str) -> Iterator[list[tuple[str, object]]]:
    """The SQL statements (with their parameters) the app runs on the database while the
    block runs: for checks such as "one query, however many rows"."""
    from bot.storage.db import engine_for

    engine, statements = engine_for(database_url), []

    def record(_connection, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def wait_for(condition, timeout: float = 10, poll: float = 0.02):
    """Poll until `condition()` is truthy and return its value; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(**overrides: str) -> dict[str, str]:
    """The environment of an app process: only what the test gives, never a developer's .env."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_URL", "PORT"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def interrupt_cli(*args: str, env: dict[str, str], cwd: Path, once) -> tuple[int, str]:
    """Run `python -m bot ARGS`, press Ctrl-C once `once()` holds; (exit code, stderr).

    Started as from a terminal: a shell's background job (CI runs the tests as one) starts its
    children with Ctrl-C ignored, and Python then raises no KeyboardInterrupt."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        wait_for(once, timeout=30)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    return process.returncode, err


def stop_mid_round(args: tuple[str, ...], env: dict[str, str], cwd: Path,
                   stop_signal: int, *, group: bool = False) -> tuple[int, str]:
    """Run `python -m bot ARGS` as from a terminal, send `stop_signal` once a round is under
    way (to its whole process group with `group`, as Ctrl-C in a terminal does, reaching a
    clock child too); (exit code, everything it logged)."""
    log_path = cwd / "stopped.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=group,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while b"starting the round" not in log_path.read_bytes():
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
                time.sleep(0.05)
            if group:
                os.killpg(process.pid, stop_signal)
            else:
                process.send_signal(stop_signal)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                (os.killpg if group else os.kill)(process.pid, signal.SIGKILL)
                process.wait()
    return process.returncode, log_path.read_text()


class AppProcess:
    """`python -m bot serve` as a real process, stopped whatever the test's outcome."""

    def __init__(self, env: dict[str, str], cwd: Path, args: tuple[str, ...] = ()):
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.cwd = cwd
        self.args = args
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = cwd / f"serve-{self.port}.log"

    def start(self, timeout: float = 30) -> AppProcess:
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"serve exited early:\n{self.output()}")
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve did not become ready:\n{self.output()}")

    def ready(self) -> bool:
        """Whether the app answers yet: over HTTP, its health check."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


SIGNING_SECRET = "test-signing-secret"
# The double enforces Slack's rate-limit tiers; tests run them this many times faster, and the
# app paces itself for the same speed.
RATE_SCALE = 1000


@pytest.fixture
def slack():
    """A running Slack test double with one workspace, T1, whose bot token is xoxb-T1."""
    from bot.sandbox.slack import SlackDouble

    double = SlackDouble().start()
    double.rate_limit_scale = RATE_SCALE
    double.add_team("T1", name="Acme", bot_token="xoxb-T1", bot_user_id="UBOT")
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def settings(slack, migrated_url):
    """Settings of a one-workspace install talking to the test double."""
    from bot.common.config import load

    return load(
        {
            "SLACK_BOT_TOKEN": "xoxb-T1",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": migrated_url,
            "SLACK_RATE_SCALE": str(RATE_SCALE),
        }
    )


class DroppingSlack:
    """Where Slack should answer, a server that takes each connection and closes it unanswered
    (as a proxy or a network outage does); it counts the attempts. ``answers`` are given
    first, one a request (Slack lost after a first call)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.api_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/api/"
        self.attempts = 0
        self.answers: list[dict] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(65536)  # the request, left unanswered unless answers wait
                    if self.answers:
                        body = json.dumps(self.answers.pop(0)).encode()
                        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
                        connection.sendall(head.encode() + body)
                        continue
                except OSError:
                    pass
                self.attempts += 1


@pytest.fixture
def dropping_slack():
    dropping = DroppingSlack()
    dropping.thread.start()
    try:
        yield dropping
    finally:
        dropping.running = False
        dropping.thread.join()
        dropping.listener.close()


SERVED_WORKERS = 2


@pytest.fixture
def served(slack, settings, tmp_path):
    """The app in its own process (two gunicorn workers), one workspace, a program in #lunch."""
    from test_meet_harness import make_program, populate

    populate(slack)
    make_program(settings, "C1")
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
    )
    with AppProcess(env, tmp_path, ("--no-clock", "--workers", str(SERVED_WORKERS))) as app:
        yield app


class DatabaseOutage:
    """A TCP path to the test's PostgreSQL server that can go down and come back, as the
    server does when it restarts: `down()` breaks every open connection and refuses new
    ones, `up()` lets them through again. `url(database_url)` is that URL by this path."""

    def __init__(self):
        from sqlalchemy.engine import make_url

        target = make_url(PG_URL)
        self.target = (target.host or "127.0.0.1", target.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []  # the connections up now
        self.every: list[socket.socket] = []  # closed when the test ends
        self.lock = threading.Lock()
        self.running = self.up_now = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, database_url: str) -> str:
        from sqlalchemy.engine import make_url

        moved = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return moved.render_as_string(hide_password=False)

    def down(self) -> None:
        with self.lock:
            self.up_now = False
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def up(self) -> None:
        with self.lock:
            self.up_now = True

    def stop(self) -> None:
        self.running = False
        self.down()
        self.thread.join()
        self.listener.close()
        for sock in self.every:
            sock.close()

    def _serve(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            with self.lock:
                if not self.up_now:
                    client.close()
                    continue
                try:
                    server = socket.create_connection(self.target)
                except OSError:
                    client.close()
                    continue
                self.open += [client, server]
                self.every += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def database_outage():
    """A way to the PostgreSQL server that the test can take down and bring back."""
    if not PG_URL:
        pytest.skip("set TEST_DATABASE_URL to run PostgreSQL tests")
    outage = DatabaseOutage()
    try:
        yield outage
    finally:
        outage.stop()
