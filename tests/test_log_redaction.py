"""Logs never hold tokens, secrets, OAuth codes, emails or levels, at any level, whoever
writes the line (the app, slack_sdk, slack_bolt, gunicorn); settings never print secrets."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import RATE_SCALE, SIGNING_SECRET, AppProcess, app_env, run_cli
from test_meet_harness import make_program, populate
from test_oauth import CLIENT_ID, CLIENT_SECRET, get

from bot.common import logs
from bot.common.config import ConfigError, load
from bot.common.privacy import LEVEL_EXPRESSION
from bot.domain.levels.sources import set_value
from bot.sandbox import signing
from bot.storage.db import session_scope

STATE_SECRET = "state-secret-4711"
EMAILS = ("ada.lovelace@acme.test", "bob+lunch@acme.test", "cy@acme.test", "dee@acme.test")
GRADES = {"U1": "Grade 7", "U2": "Level 2", "U3": "grade: 8", "U4": "Band 7 of 9"}


def secrets_in(text: str, secrets: list[str]) -> list[str]:
    """Each forbidden thing the log text shows."""
    found = [s for s in secrets if s in text]
    found += [m.group(0) for m in LEVEL_EXPRESSION.finditer(text)]
    found += re.findall(r"level is now \*?\d", text)
    found += re.findall(r"\bxox[abposre]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+", text)
    return found


def people(slack, team: str) -> None:
    populate(slack, team)
    slack.set_profile_fields(team, [{"id": "Xf1", "label": "Grade"}])
    for (user, grade), email in zip(GRADES.items(), EMAILS, strict=True):
        slack.update_user(team, user, email=email, profile_fields={"Xf1": grade})


def command(slack, app, text: str, user: str, team: str):
    url = slack.new_response_url()
    body, headers = signing.slash_command(
        SIGNING_SECRET, text, user_id=user, channel_id="C1", team_id=team, response_url=url
    )
    status, _, _ = signing.post(app.url + "/slack/events", body, headers)
    assert status == 200
    deadline = time.monotonic() + 10
    while not slack.responses(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    return slack.responses(url)


@pytest.mark.slow
def test_an_oauth_install_and_commands_at_debug_log_no_secret(slack, migrated_url, tmp_path):
    slack.oauth_client_id, slack.oauth_client_secret = CLIENT_ID, CLIENT_SECRET
    env = app_env(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_STATE_SECRET=STATE_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=migrated_url,
        SLACK_RATE_SCALE=str(RATE_SCALE),
        LOG_LEVEL="DEBUG",
    )
    slack.add_team("TA", name="Alpha", bot_token="xoxb-unused")
    people(slack, "TA")
    slack.register_oauth_code("4711.8150.c0dea", team_id="TA", bot_token="xoxb-TA-s3cr3t")
    with AppProcess(env, tmp_path, ("--no-clock",)) as app:
        for code in ("9999.1234.badc0de", "4711.8150.c0dea"):
            status, headers, _ = get(app.url, "/slack/install")
            location = {k.lower(): v for k, v in headers}["location"]
            state = parse_qs(urlsplit(location).query)["state"][0]
            status, _, body = get(
                app.url,
                f"/slack/oauth_redirect?code={code}&state={state}",
                {"Cookie": f"slack-app-oauth-state={state}"},
            )
            assert (status == 200) == (code == "4711.8150.c0dea"), body
        replies = command(slack, app, "level <@U2|bob> 8", user="UADMIN", team="TA")
        assert "level is now *8*" in replies[0]["text"]
        command(slack, app, "status", user="U1", team="TA")
        output = app.output()
    assert "Sending a request" in output and "oauth.v2.access" in output, "DEBUG was on"
    assert "/slack/oauth_redirect" in output, "gunicorn's access log was on"
    forbidden = [CLIENT_SECRET, SIGNING_SECRET, STATE_SECRET, "4711.8150.c0dea",
                 "9999.1234.badc0de", "c0dea", "badc0de", *EMAILS]  # fmt: skip
    assert secrets_in(output, forbidden) == []


@pytest.mark.slow
def test_a_round_and_a_profile_sync_at_debug_log_no_secret(slack, settings, tmp_path):
    people(slack, "T1")
    slack.add_member("T1", "C1", "UBOT")
    with session_scope(settings.database_url) as session:
        for number, user in enumerate(("U1", "U2", "U3", "U4", "UADMIN"), start=1):
            set_value(session, "T1", user, "level", number + 3, "admin")
            set_value(session, "T1", user, "department", f"Dept {user}", "admin")
    make_program(settings, "C1")
    env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=settings.database_url,
        SLACK_RATE_SCALE=str(RATE_SCALE),
        LOG_LEVEL="DEBUG",
    )
    outputs = []
    for args in (("levels", "map", "--level-field", "Grade"), ("levels", "sync"),
                 ("round", "C1"), ("levels", "import", "hr.csv")):  # fmt: skip
        (tmp_path / "hr.csv").write_text(f"email,level\n{EMAILS[0]},9\nnobody@acme.test,3\n")
        result = run_cli(*args, env=env, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        outputs.append(result.stderr)
    output = "\n".join(outputs)
    assert "Sending a request" in output and "users.profile.get" in output, "DEBUG was on"
    assert "chat.postMessage" in output
    forbidden = [SIGNING_SECRET, "xoxb-T1", *EMAILS, "nobody@acme.test", *GRADES.values()]
    assert secrets_in(output, forbidden) == []


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("Failed to fetch oauth.v2.access result with code: 1234.5678.abcd - error: x", "1234.5678.abcd"),
        ('"GET /slack/oauth_redirect?code=1234.5678.abcd&state=s HTTP/1.1" 200', "1234.5678.abcd"),
        ("token xoxb-123-456-abcDEF in a sentence", "xoxb-123-456-abcDEF"),
        ("refresh xoxe-1-abc and app xapp-1-A0-123-abc", "xapp-1-A0-123-abc"),
        ("{'client_secret': 'shh-123', 'ok': True}", "shh-123"),
        ("password=hunter22&user=x", "hunter22"),
        ("postgresql://app:pw-9911@db.internal/lunch", "pw-9911"),
        ("who: ada.lovelace@acme.test", "ada.lovelace@acme.test"),
        ("Saved: <@U2>'s level is now *8*", "level is now *8"),
        ("(sqlite3.IntegrityError) UNIQUE failed\n[SQL: INSERT INTO members VALUES (?, ?)]\n"
         "[parameters: ('T1', 'Finance and Payroll', 8)]\n(Background on this error at: "
         "https://sqlalche.me/e/20/gkpj)", "Finance and Payroll"),
    ],
)  # fmt: skip
def test_redact_hides_each_kind_of_secret(line, hidden):
    redacted = logs.redact(line)
    assert hidden not in redacted
    assert redacted.startswith(line[:5])  # only the secret goes: the line still says what it is


def test_payloads_of_slacks_libraries_are_left_out_but_the_rest_of_the_line_stays():
    line = "Sending a request - url: https://slack.com/api/chat.postMessage, query_params: {}, " \
           "body_params: {}, files: {}, json_body: {'text': 'Dept Finance'}, headers: {}"
    assert logs.redact(line, "slack_sdk.web.base_client") == (
        "Sending a request - url: https://slack.com/api/chat.postMessage, "
        "query_params: (not logged)"
    )
    assert logs.redact("status code: 200, took 5 ms", "bot.jobs.clock") == "status code: 200, took 5 ms"


def test_the_filter_covers_records_of_every_logger_that_propagates():
    stream_records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            stream_records.append(self.format(record))

    handler = Keep()
    logs.protect([handler])
    logs.remember_secrets(["signing-secret-0042"])
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("slack_bolt.oauth").warning("code: %s", "77.88.99aa")
        logging.getLogger("some.library").error("secret is signing-secret-0042")
        try:
            raise RuntimeError("token=xoxb-9-9-zz")
        except RuntimeError:
            logging.getLogger("bot.x").exception("failed for bob@acme.test")
    finally:
        root.removeHandler(handler)
    text = "\n".join(stream_records)
    assert len(stream_records) == 3 and "RuntimeError" in text
    assert secrets_in(text, ["77.88.99aa", "signing-secret-0042", "bob@acme.test"]) == []


def test_settings_never_show_secrets():
    settings = load({
        "SLACK_BOT_TOKEN": "xoxb-1-2-bot", "SLACK_SIGNING_SECRET": "sign-me-42",
        "SLACK_APP_TOKEN": "xapp-1-2-app", "SLACK_CLIENT_SECRET": "client-s-42",
        "SLACK_CLIENT_ID": "1.2", "SLACK_STATE_SECRET": "state-s-42",
        "DATABASE_URL": "postgresql://lunch:db-pass-42@db/lunch",
    })  # fmt: skip
    for shown in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for secret in ("xoxb-1-2-bot", "sign-me-42", "xapp-1-2-app", "client-s-42",
                       "state-s-42", "db-pass-42"):  # fmt: skip
            assert secret not in shown
        assert "postgresql+psycopg://lunch:***@db/lunch" in shown and "client_id='1.2'" in shown


def test_a_bad_database_url_is_refused_without_echoing_its_password():
    with pytest.raises(ConfigError) as refused:
        load({"DATABASE_URL": "lunch:db-pass-42@db.internal/lunch"})
    assert "db-pass-42" not in str(refused.value) and "DATABASE_URL" in str(refused.value)
