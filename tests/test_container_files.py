"""Dockerfile and compose.yaml agree with the code: every command they run is one the CLI
takes, every variable they set is one the app reads, and the image's health check passes
against a real `serve` and fails when the app is down or unhealthy.

(No image is built here: these tests need no Docker daemon.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from conftest import ROOT, SIGNING_SECRET, AppProcess, app_env, free_port

from bot.cli.main import build_parser

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("release", "web", "clock")


def instructions(name: str) -> list[str]:
    """The arguments of each Dockerfile instruction `name`, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1]
        for line in text.splitlines()
        if line.strip() and not line.startswith("#") and line.split()[0] == name
    ]


def healthcheck() -> list[str]:
    (spec,) = instructions("HEALTHCHECK")
    return json.loads(spec.split("CMD", 1)[1])


def cli_args(command: list[str]) -> list[str]:
    """The arguments after `python -m bot`, which every app process must start with."""
    assert command[:3] == ["python", "-m", "bot"], command
    return command[3:]


def test_the_image_is_slim_and_runs_as_a_user_that_is_not_root():
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.\d+-slim", base)
    python = tuple(int(n) for n in base.split(":")[1].split("-")[0].split("."))
    required = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert python >= tuple(int(n) for n in required.groups())
    (user,) = instructions("USER")
    assert user not in ("root", "0")
    assert "useradd" in " ".join(instructions("RUN")) and f" {user}" in " ".join(instructions("RUN"))


def test_the_image_installs_the_postgres_driver_it_is_run_with():
    (install,) = [run for run in instructions("RUN") if "pip install" in run]
    extra = re.search(r"\.\[(\w+)\]", install).group(1)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extra in project["optional-dependencies"]
    assert extra == "postgres"


def test_every_command_of_the_image_and_compose_is_one_the_cli_takes():
    (cmd,) = instructions("CMD")
    commands = {"image": json.loads(cmd)}
    commands |= {name: SERVICES[name]["command"] for name in APP_SERVICES}
    for where, command in commands.items():
        args = build_parser().parse_args(cli_args(command))  # exits on anything it does not take
        assert callable(args.func), where
    parse = build_parser().parse_args
    assert parse(cli_args(SERVICES["release"]["command"])).command == "migrate"
    web = parse(cli_args(SERVICES["web"]["command"]))
    assert (web.command, web.with_clock) == ("serve", False)  # the clock service keeps time
    assert parse(cli_args(SERVICES["clock"]["command"])).command == "clock"


def test_compose_starts_web_and_clock_after_the_migration_and_the_migration_after_postgres():
    assert SERVICES["release"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert SERVICES["release"]["restart"] == "no"
    for name in ("web", "clock"):
        assert SERVICES[name]["depends_on"] == {
            "release": {"condition": "service_completed_successfully"}
        }
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(SERVICES["db"]["healthcheck"]["test"])
    # Only the web process answers HTTP: the others do not inherit the image's health check.
    assert "healthcheck" not in SERVICES["web"]
    assert SERVICES["release"]["healthcheck"] == SERVICES["clock"]["healthcheck"] == {"disable": True}


def variables_set() -> set[str]:
    names = set()
    for spec in instructions("ENV"):
        names |= set(re.findall(r"(\w+)=", spec))
    for name in APP_SERVICES:
        names |= set(SERVICES[name].get("environment", {}))
    return names


def test_every_variable_given_to_the_app_is_one_it_reads():
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    # Read by Python, pip and matplotlib rather than the app.
    theirs = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
              "PIP_DISABLE_PIP_VERSION_CHECK", "MPLCONFIGDIR"}
    for name in variables_set() - theirs:
        assert f'"{name}"' in source, f"{name} is set for the app, which never reads it"
    assert {"DATABASE_URL", "PORT"} <= variables_set()


def test_compose_gives_the_app_the_database_postgres_is_made_with():
    from bot.common.config import load

    db = SERVICES["db"]["environment"]
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    password = db["POSTGRES_PASSWORD"]
    expected = f"postgresql://{db['POSTGRES_USER']}:{password}@db:5432/{db['POSTGRES_DB']}"
    assert url == expected
    settings = load({"DATABASE_URL": url.replace(password, "secret")})
    assert settings.database_url == "postgresql+psycopg://lunch:secret@db:5432/lunch"
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"] == SERVICES["web"]["environment"]


def test_the_published_port_is_the_one_the_image_serves_on():
    (env,) = [spec for spec in instructions("ENV") if "PORT=" in spec]
    port = re.search(r"PORT=(\d+)", env).group(1)
    (published,) = SERVICES["web"]["ports"]
    assert published.rsplit(":", 1)[1] == port
    assert instructions("EXPOSE") == [port]


def run_healthcheck(port: int) -> subprocess.CompletedProcess:
    command = healthcheck()
    assert command[0] == "python"
    return subprocess.run(
        [sys.executable, *command[1:]], env=app_env(PORT=str(port)), capture_output=True,
        timeout=15,
    )


@pytest.mark.slow
def test_the_health_check_passes_against_a_real_serve(slack, settings, tmp_path):
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url,
    )
    with AppProcess(env, tmp_path, ("--no-clock", "--workers", "1")) as app:
        result = run_healthcheck(app.port)
    assert result.returncode == 0, result.stderr


class _Answer(BaseHTTPRequestHandler):
    status = 200
    body = b"ok\n"
    paths: list[str] = []

    def do_GET(self):
        self.paths.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("status", "body", "healthy"),
    [
        (200, b'{"status": "ok", "database": "ok"}', True),  # a JSON body counts as well
        (503, b'{"status": "failing"}', False),
        (503, b"database unavailable\n", False),
        (404, b"", False),
    ],
)
def test_the_health_check_looks_at_the_status_code_only(status, body, healthy):
    handler = type("Answer", (_Answer,), {"status": status, "body": body, "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_healthcheck(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy
    assert handler.paths == ["/healthz"]


def test_the_health_check_fails_when_nothing_answers():
    assert run_healthcheck(free_port()).returncode != 0


def test_the_image_leaves_secrets_and_local_databases_out():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    exceptions = [n for n, line in enumerate(ignored) if line.startswith("!")]
    assert ignored.index("*") < min(exceptions)  # everything ignored, then what is needed
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "LICENSE", "bot"}
    copied = {part.rstrip("/") for spec in instructions("COPY") for part in shlex.split(spec)[:-1]}
    assert copied <= allowed
