"""Settings: defaults, and one clear line for every missing or contradictory value."""

import os
import signal
import subprocess
import sys

import pytest
from conftest import ROOT, SIGNING_SECRET, app_env, free_port, run_cli

from bot.common.config import ConfigError, load

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}


def test_defaults_for_a_one_workspace_install():
    settings = load(dict(BASE)).require_slack()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///worthknowing.db"
    assert settings.port == 3000
    assert settings.log_level == "INFO"
    assert not settings.oauth and not settings.socket_mode


def test_api_url_gets_trailing_slash_and_postgres_url_gets_driver():
    settings = load(
        {**BASE, "SLACK_API_URL": "http://127.0.0.1:9/api", "DATABASE_URL": "postgres://u@h/db"}
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "env, variable, hint",
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN", "OAuth & Permissions"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET", "App Credentials"),
        ({**BASE, "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET", "App Credentials"),
        ({**BASE, "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "x"}, "both set", "not both"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxp-user"}, "xoxb-", "Bot User OAuth Token"),
        ({**BASE, "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN", "App-Level Tokens"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxe.xoxb-1-x"}, "expiring", "SLACK_CLIENT_ID"),
        (
            {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "x", "SLACK_APP_TOKEN": "xapp-1"},
            "SLACK_APP_TOKEN and SLACK_CLIENT_ID",
            "/slack/install",
        ),
    ],
)
def test_missing_or_contradictory_slack_settings_name_the_variable(env, variable, hint):
    with pytest.raises(ConfigError) as error:
        load(env).require_slack()
    assert variable in str(error.value) and hint in str(error.value)
    assert "\n" not in str(error.value)


def test_socket_mode_needs_no_signing_secret():
    settings = load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).require_slack()
    assert settings.socket_mode


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        ({"DATABASE_URL": "mydb"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u:pw@h/db"}, "runs on SQLite or PostgreSQL"),
    ],
)
def test_malformed_values_are_refused(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load({**BASE, **env})


def test_dotenv_file_fills_in_but_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\n")
    for key in ("SLACK_BOT_TOKEN", "PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PORT", "5000")
    settings = load(dotenv_path=tmp_path / ".env")
    assert settings.bot_token == "xoxb-from-file"
    assert settings.port == 5000


def test_serve_without_tokens_stops_with_one_clear_line(tmp_path):
    result = run_cli("serve", env=app_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from OAuth & "
        "Permissions (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many "
        "workspaces)"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_every_command_has_help(tmp_path):
    top = run_cli("--help", env=app_env(), cwd=tmp_path)
    assert top.returncode == 0
    for command in ("serve", "clock", "migrate", "round", "stats", "preview", "levels"):
        assert command in top.stdout
        result = run_cli(command, "--help", env=app_env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "usage: python -m bot " + command in result.stdout


@pytest.mark.parametrize(
    "token, outage, line",
    [("xoxb-not-installed", False,
      "error: Slack refused SLACK_BOT_TOKEN (invalid_auth): check the Bot User OAuth Token "
      "under OAuth & Permissions and that the app is installed"),
     ("xoxb-T1", True,  # every answer a 500: not the token's fault
      "error: Slack could not check SLACK_BOT_TOKEN (fatal_error): Slack may be having "
      "trouble (status.slack.com); try again in a few minutes")],
)  # fmt: skip
def test_serve_whose_token_slack_refuses_or_cannot_check_says_so_in_one_line(
    slack, tmp_path, token, outage, line
):
    if outage:
        slack.fail_next("auth.test", status=500, count=100)
    env = app_env(
        SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET="s", SLACK_RATE_SCALE="1000",
        SLACK_API_URL=slack.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
    )  # fmt: skip
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("host", "reason"), [("127.0.0.1", "Address already in use"),
                                             ("192.0.2.1", "Cannot assign requested address")])
def test_serve_that_cannot_listen_says_so_in_one_line(tmp_path, host, reason):
    """A port in use, or a host that is not this machine's (192.0.2.1: documentation only)."""
    import socket

    busy = socket.create_server(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    env = app_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", PORT=str(port),
                  DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    try:
        result = run_cli("serve", "--host", host, env=env, cwd=tmp_path)
    finally:
        busy.close()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: cannot listen on {host}:{port} ({reason}): stop what")
    assert "gunicorn" not in result.stderr.lower()  # it never started


def test_serve_when_slack_cannot_be_reached_says_so_in_one_line(tmp_path):
    from conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
    )
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot reach Slack at {url}")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("migrate",), ("stats",), ("serve",), ("clock",),
                                     ("round", "C1"), ("export", "--out", "x.jsonl"),
                                     ("levels", "export")])  # fmt: skip
def test_a_database_that_cannot_be_reached_is_one_line_and_exit_2(command, tmp_path):
    """Nothing listens where DATABASE_URL points: every command that needs the database says
    so in one line, without the URL (it may hold a password), and no traceback."""
    from conftest import free_port

    url = f"postgresql://worth:hunter2@127.0.0.1:{free_port()}/lunch"
    env = app_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", DATABASE_URL=url)
    result = run_cli(*command, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot use the database at DATABASE_URL (")
    assert "check DATABASE_URL, and that its server is up" in line
    assert "hunter2" not in result.stdout + result.stderr


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_one_line_and_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'lunch.db'}"
    result = run_cli("migrate", env=app_env(DATABASE_URL=url), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "(unable to open database file)" in line and "its folder exists" in line


def _one_line(result: subprocess.CompletedProcess) -> str:
    """The one line a mistake the user can fix gets: exit code 2, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("command", [("stats",), ("migrate",), ("levels", "export"),
                                     ("export", "--out", "x.jsonl")])  # fmt: skip
def test_a_file_that_is_not_a_database_is_one_line_and_left_as_it_is(command, tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("these are notes, not a database\n")
    result = run_cli(*command, env=app_env(DATABASE_URL=f"sqlite:///{notes}"), cwd=tmp_path)
    line = _one_line(result)
    assert line.startswith("error: cannot use the database at DATABASE_URL (")
    assert "(file is not a database): point DATABASE_URL at a Worth Knowing database" in line
    assert notes.read_text() == "these are notes, not a database\n"
    assert sorted(path.name for path in tmp_path.glob("notes*")) == ["notes.db"]


NO_DATABASE = ("run the command from the folder that holds the database, point DATABASE_URL "
               "at it, or run `python -m bot migrate` to start a new one")


@pytest.mark.parametrize("command", [("stats",), ("levels", "export"), ("export", "--out", "x"),
                                     ("report", "--out", "r")])  # fmt: skip
def test_a_command_that_only_reads_makes_no_database_where_there_is_none(command, tmp_path):
    """Run from another folder than the database's: the default worthknowing.db is not there.
    A new empty one was made, and `stats` then said "no programs yet: run /meet setup"."""
    line = _one_line(run_cli(*command, env=app_env(), cwd=tmp_path))
    assert line == f"error: no database at {tmp_path / 'worthknowing.db'}: {NO_DATABASE}"
    assert list(tmp_path.iterdir()) == []
    elsewhere = tmp_path / "lunch" / "w.db"
    line = _one_line(run_cli(*command, env=app_env(DATABASE_URL=f"sqlite:///{elsewhere}"),
                             cwd=tmp_path))  # fmt: skip
    assert line == f"error: no database at {elsewhere}: {NO_DATABASE}"
    assert list(tmp_path.iterdir()) == []


def test_migrate_still_starts_a_new_database(tmp_path):
    result = run_cli("migrate", env=app_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database upgraded from empty" in result.stderr
    assert run_cli("stats", env=app_env(), cwd=tmp_path).stdout == (
        "no programs yet: run /meet setup in a channel\n"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://worth:hunter2@127.0.0.1:abc/lunch", "has a port that is not a number"),
        ("postgresql+psycopg2://worth:hunter2@127.0.0.1/lunch",
         "use postgresql:// or postgresql+psycopg:// (psycopg 3)"),
    ],
)  # fmt: skip
def test_a_database_url_the_app_cannot_use_is_one_line_without_its_password(url, says, tmp_path):
    result = run_cli("stats", env=app_env(DATABASE_URL=url), cwd=tmp_path)
    line = _one_line(result)
    assert line.startswith("error: DATABASE_URL ") and says in line
    assert "hunter2" not in result.stdout + result.stderr


def test_a_dotenv_file_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / ".env").write_bytes(b"DATABASE_URL=sqlite:///\xfc.db\n")  # Latin-1
    line = _one_line(run_cli("stats", env=app_env(), cwd=tmp_path))
    assert line.startswith("error: .env is not UTF-8 text: save it again with the UTF-8 encoding")


@pytest.mark.parametrize(("value", "where"), [("abc", "environment"), ("0", "environment"),
                                              ("0", ".env"), ("", "environment")])  # fmt: skip
def test_web_concurrency_that_is_no_worker_count_stops_serve_before_it_starts(
    slack, database_url, tmp_path, value, where
):
    """0 workers used to start a master that says it listens but never answers."""
    from conftest import free_port

    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url, DATABASE_URL=database_url,
    )  # fmt: skip
    env.pop("WEB_CONCURRENCY", None)
    if where == ".env":
        (tmp_path / ".env").write_text(f"WEB_CONCURRENCY={value}\n")
    else:
        env["WEB_CONCURRENCY"] = value
    serve = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--no-clock"],
        env={**env, "PORT": str(free_port())}, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:  # it started after all: stop it and every worker it forked
            os.killpg(serve.pid, signal.SIGKILL)
            serve.communicate()
    line = _one_line(subprocess.CompletedProcess(serve.args, serve.returncode, stdout, stderr))
    assert line == (
        f"error: WEB_CONCURRENCY is {value!r}: set it to a whole number of worker processes, "
        "1 or more (or unset it for 1)"
    )
    assert stdout == ""


@pytest.mark.parametrize("option", [["--workers", "0"], ["--workers", "-2"], ["--threads", "0"]])
def test_serve_with_no_worker_or_thread_is_refused_by_its_options(tmp_path, option):
    """--workers 0 started a master that never answered, as WEB_CONCURRENCY=0 did."""
    result = run_cli("serve", *option, env=app_env(), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().endswith(
        f"error: argument {option[0]}: must be at least 1 (see python -m bot serve --help)"
    )


# -- the clock, and the placeholders of .env.example --------------------------------------------


@pytest.mark.parametrize(
    "env, variable",
    [
        ({}, "SLACK_BOT_TOKEN is not set"),  # the clock's process started without the .env
        ({"SLACK_BOT_TOKEN": "xoxp-a-user-token"}, "does not start with xoxb-"),
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET is not set"),  # half of OAuth
        ({"SLACK_BOT_TOKEN": "xoxb-your-bot-token"}, "SLACK_BOT_TOKEN is still the placeholder"),
    ],
)
def test_clock_without_usable_slack_settings_stops_with_one_line(tmp_path, env, variable):
    # otherwise it runs, and each due round is a traceback until its grace window has passed
    result = run_cli("clock", "--tick", "1", env=app_env(**env), cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("error: ") and variable in result.stderr
    assert not (tmp_path / "worthknowing.db").exists()  # said before anything was made


def test_clock_needs_no_signing_secret():
    # it answers no request from Slack, so it never needed the secret
    assert load({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack_client().bot_token == "xoxb-1"
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        load({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack()


@pytest.mark.parametrize(
    "name, where",
    [("SLACK_SIGNING_SECRET", "Basic Information > App Credentials"),
     ("SLACK_BOT_TOKEN", "OAuth & Permissions"),
     ("SLACK_APP_TOKEN", "Basic Information > App-Level Tokens")],
)  # fmt: skip
def test_a_placeholder_left_from_env_example_is_named(name, where):
    """.env.example's values, as a person who filled in only some of them has them: a
    forgotten signing secret would start serve and refuse every request Slack sends."""
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.startswith(name + "=") or line.startswith("# " + name + "=")
    )
    placeholder = next(iter(example.values()))
    env = {**BASE, name: placeholder}
    with pytest.raises(ConfigError) as raised:
        load(env).require_slack()
    assert str(raised.value) == (
        f"{name} is still the placeholder of .env.example: copy the real one from {where}"
        + (" (Bot User OAuth Token)" if name == "SLACK_BOT_TOKEN" else "")
    )


def test_serve_with_a_bad_clock_grace_hours_stops_with_one_line(slack, tmp_path):
    # else serve answers /healthz while its clock exits at every restart and no round runs
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'lunch.db'}",
        PORT=str(free_port()), CLOCK_GRACE_HOURS="a day",
    )  # fmt: skip
    result = run_cli("serve", "--host", "127.0.0.1", "--with-clock", env=env, cwd=tmp_path,
                     timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("error: CLOCK_GRACE_HOURS"), result.stderr
