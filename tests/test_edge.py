"""The HTTP edge of a real `python -m bot serve`: whatever a request without Slack's valid
signature holds, it gets a 401 and leaves no traceback; a signed request is accepted once
(a replay is refused, across workers); and with one bot token, another workspace's signed
requests are refused."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from conftest import SERVED_WORKERS, SIGNING_SECRET, AppProcess, wait_for
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from bot.edge.signatures import SeenSignatures
from bot.sandbox import signing
from bot.storage.db import session_scope
from bot.storage.models import Member, ProcessedEvent, SeenSignature

pytestmark = pytest.mark.slow



def raw_post(app: AppProcess, body: bytes, headers: dict[str, str]) -> int:
    """POST exactly these headers (no Content-Type unless given) and body; the status."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events", skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value.encode())
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def command_body(text: str = "help", team_id: str = "T1") -> bytes:
    return signing.slash_command(
        SIGNING_SECRET, text, user_id="U1", channel_id="C1", response_url="https://x",
        team_id=team_id,
    )[0]  # fmt: skip


SPECIAL_BODIES = [
    b"{",
    b"[]",
    b"null",
    b"payload=notjson",
    b"payload=%7B",
    b"payload=null",
    b"\xff\xfe\xfa",
    b"",
    b'{"type": "url_verification", "challenge": "c"}',
    b'{"type": "event_callback", "event": null}',
    command_body(),
]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
]
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_categories=["Cc"]),
    max_size=40,
)


@st.composite
def timestamps(draw):
    now = int(time.time())
    return draw(
        st.one_of(
            st.none(),
            st.sampled_from(
                [str(now), "abc", "", "1e9", "-1", f"+{now}", f" {now}", "99999999999999999999",
                 "\u0661\u0662\u0663", str(now - 301), str(now + 301), f"{now}.5"]
            ),  # fmt: skip
            HEADER_TEXT,
        )
    )


@st.composite
def forged_requests(draw):
    body = draw(st.one_of(st.sampled_from(SPECIAL_BODIES), st.binary(max_size=200)))
    content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), HEADER_TEXT))
    timestamp = draw(timestamps())
    kind = draw(st.sampled_from(["none", "random", "other body", "other secret", "text"]))
    signed_ts = timestamp if timestamp is not None else str(int(time.time()))
    signature = {
        "none": None,
        "random": "v0=" + draw(st.binary(min_size=32, max_size=32)).hex(),
        "other body": signing.signature(SIGNING_SECRET, signed_ts, body + b" "),
        "other secret": signing.signature("not-the-secret", signed_ts, body),
        "text": draw(HEADER_TEXT),
    }[kind]
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if draw(st.booleans()):
        headers["X-Slack-Retry-Num"] = draw(st.sampled_from(["1", "x", ""]))
    return body, headers


USER = {"id": "U1", "team_id": "T1"}
MISSHAPEN_PAYLOADS = [
    {"type": "block_actions", "user": USER, "actions": "x"},
    {"type": "block_actions", "user": USER, "actions": [1]},
    {"type": "block_actions", "user": USER, "actions": [{"action_id": 5}]},
    {"type": "block_actions", "user": USER, "actions": []},
    {"type": "block_actions", "user": USER, "actions": [{}]},
    {"type": "view_submission", "user": USER, "view": {"callback_id": "settings"}},
    {"type": "block_actions", "user": "U1", "actions": [{"action_id": "home_join"}]},
    {"type": "block_actions", "user": {"id": []}, "actions": [{"action_id": "home_join"}]},
    {"type": "block_actions", "user": USER, "team": "T1", "actions": [{"action_id": "x"}]},
    {"type": "view_submission", "user": USER, "view": None},
    {"type": "view_submission", "user": USER, "view": {"callback_id": 1}},
    {"type": "view_submission", "user": USER,
     "view": {"callback_id": "settings", "type": "modal", "state": "x"}},
    {"type": "view_submission", "user": USER,
     "view": {"callback_id": "settings", "type": "modal", "private_metadata": {}}},
    {"type": "view_closed", "user": USER, "view": []},
    {"type": "block_suggestion", "user": USER, "action_id": {}},
    {"type": 5},
]  # fmt: skip
MISSHAPEN_EVENTS = [
    "x", None, {"type": 5},
    {"type": "app_home_opened", "user": {}},
    {"type": "member_joined_channel", "user": "U1", "channel": ["C1"]},
    {"type": "user_change", "user": "U1"},
    {"type": "tokens_revoked", "tokens": ["xoxb"]},
    {"type": "team_access_granted", "team_ids": [1]},
    {"type": "team_access_revoked", "team_ids": "T1"},
]  # fmt: skip


def test_every_request_without_a_valid_signature_is_401_and_logs_no_traceback(served):
    @hypothesis_settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=forged_requests())
    def forged(request):
        body, headers = request
        assert raw_post(served, body, headers) == 401, (body, headers)

    forged()
    # a signature made for the body, but at a timestamp too old or too far ahead (Slack allows
    # five minutes either way; the future one is a minute out, as the seconds it takes the
    # request to arrive, and the whole seconds the header holds, bring it back toward now)
    for shift in (-301, 360):
        body, headers = signing.sign(
            SIGNING_SECRET, command_body(), signing.FORM, time.time() + shift
        )
        assert raw_post(served, body, headers) == 401
    # and the same request, signed now, is answered
    body, headers = signing.sign(SIGNING_SECRET, command_body(), signing.FORM)
    assert raw_post(served, body, headers) == 200
    # a command whose text holds the word Bolt looks for in interactive payloads
    body, headers = signing.sign(SIGNING_SECRET, command_body("about payload"), signing.FORM)
    assert raw_post(served, body, headers) == 200

    # signed, but nothing Slack would send: a clear 400, not a 500
    for body, content_type in [
        (b"{", signing.JSON), (b"null", signing.JSON), (b"a=b", signing.JSON),
        (b"payload=notjson", signing.FORM), (b"payload=null", signing.FORM),
    ]:  # fmt: skip
        assert raw_post(served, *signing.sign(SIGNING_SECRET, body, content_type)) == 400, body
    # signed and well-formed JSON, but not of the shape Slack sends (Bolt's middleware
    # raised on each: a 500 and a traceback, or a parameter the database cannot bind)
    for payload in MISSHAPEN_PAYLOADS:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        assert raw_post(served, *signing.sign(SIGNING_SECRET, body, signing.FORM)) == 400, body
    for event in MISSHAPEN_EVENTS:
        body = json.dumps({"type": "event_callback", "team_id": "T1", "event": event}).encode()
        assert raw_post(served, *signing.sign(SIGNING_SECRET, body, signing.JSON)) == 400, body
    for moment in (10**20, -(10**15)):  # no time at all: answered, not a 500
        body = json.dumps({"type": "event_callback", "team_id": "T1", "event_time": moment,
                           "event": {"type": "member_left_channel", "user": "U9",
                                     "channel": "C9"}}).encode()  # fmt: skip
        assert raw_post(served, *signing.sign(SIGNING_SECRET, body, signing.JSON)) == 200, body

    log = served.output()
    assert "Traceback" not in log and " 500 " not in log
    refusals = [line for line in log.splitlines() if "refused a request" in line]
    assert 1 <= len(refusals) <= SERVED_WORKERS  # one short line per process and minute, at most
    assert all(len(line) < 200 for line in refusals)


def test_a_replayed_request_is_refused_across_workers_but_slacks_retries_are_not(
    slack, served, settings
):
    url = slack.new_response_url()
    body, headers = signing.slash_command(
        SIGNING_SECRET, "status", user_id="U1", channel_id="C1", response_url=url
    )
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: signing.post(served.url + "/slack/events", body, headers)[0],
                     range(8))
        )  # fmt: skip
    assert sorted(statuses) == [200] + [401] * 7
    wait_for(lambda: slack.responses(url))  # answered after the acknowledgement
    time.sleep(0.5)
    assert len(slack.responses(url)) == 1  # and once

    # Slack's retry of an event is signed anew: accepted here, then handled once by event id
    event = {"type": "member_joined_channel", "user": "U5", "channel": "C1", "channel_type": "C"}
    first = signing.event_callback(SIGNING_SECRET, event, event_id="EvRetried")
    retry = signing.event_callback(SIGNING_SECRET, event, event_id="EvRetried", retry_num=1)
    assert first[1]["X-Slack-Signature"] != retry[1]["X-Slack-Signature"]  # signed anew
    assert signing.post(served.url + "/slack/events", *first)[0] == 200
    assert signing.post(served.url + "/slack/events", *retry)[0] == 200
    assert signing.post(served.url + "/slack/events", *retry)[0] == 401  # the retry, replayed

    def processed() -> int:  # event ids are recorded after the acknowledgement
        with session_scope(settings.database_url) as session:
            return session.scalar(select(func.count()).select_from(ProcessedEvent))

    wait_for(processed)
    time.sleep(0.5)
    assert processed() == 1


def test_another_workspaces_signed_requests_are_refused_with_one_bot_token(
    slack, served, settings
):
    url = slack.new_response_url()
    body, headers = signing.slash_command(
        SIGNING_SECRET, "pause", user_id="U1", channel_id="C1", response_url=url, team_id="T2"
    )
    status, _, text = signing.post(served.url + "/slack/events", body, headers)
    assert status == 200 and "another Slack workspace" in text

    body, headers = signing.block_action(
        SIGNING_SECRET, "anything", "1", user_id="U1", team_id="T2", view={"type": "home"}
    )
    assert signing.post(served.url + "/slack/events", body, headers)[0] == 401
    event = {"type": "user_change", "user": {"id": "U1", "deleted": True}}
    body, headers = signing.event_callback(SIGNING_SECRET, event, team_id="T2")
    assert signing.post(served.url + "/slack/events", body, headers)[0] == 401

    time.sleep(0.5)
    assert slack.responses(url) == []
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
        assert session.scalars(select(Member).where(Member.team_id == "T2")).all() == []
        assert session.scalar(select(Member.deactivated).where(Member.user_id == "U1")) in (
            None, False,
        )  # fmt: skip

    # our own workspace is answered as before
    status, _, text = signing.post(
        served.url + "/slack/events",
        *signing.slash_command(
            SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x"
        ),
    )
    assert status == 200 and "/meet status" in text


def test_seen_signatures_older_than_the_window_are_pruned(migrated_url):
    seen = SeenSignatures(migrated_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    with session_scope(migrated_url) as session:
        session.add(SeenSignature(signature="v0=old", signed_at=old))
    now = str(int(time.time()))
    assert seen.first_time("v0=new", now) is True
    assert seen.first_time("v0=new", now) is False
    with session_scope(migrated_url) as session:
        assert list(session.scalars(select(SeenSignature.signature))) == ["v0=new"]


def test_signed_json_is_parsed_as_json(slack, served):
    """Sanity: a validly signed url_verification still reaches Bolt through the edge."""
    body, headers = signing.url_verification(SIGNING_SECRET, "challenge-9")
    status, _, text = signing.post(served.url + "/slack/events", body, headers)
    assert status == 200 and json.loads(text)["challenge"] == "challenge-9"


def test_a_database_that_cannot_record_signatures_is_a_503_not_a_traceback(served, settings):
    from bot.storage.db import engine_for

    with engine_for(settings.database_url).begin() as connection:
        connection.execute(text("DROP TABLE seen_signatures"))
    body, headers = signing.slash_command(
        SIGNING_SECRET, "help", user_id="U1", channel_id="C1", response_url="https://x"
    )
    assert signing.post(served.url + "/slack/events", body, headers)[0] == 503
    assert "Traceback" not in served.output()


def test_payloads_of_the_shapes_slack_sends_pass_the_shape_check():
    """What Slack sends beyond the harness's own payloads: a message with rich text, a state
    whose action ids are any word, a user object in user_change, nulls where Slack sends them."""
    from bot.edge.payload_shape import problem

    message = {"type": "message", "user": "U2", "team": "T1", "ts": "1.2", "blocks": [
        {"type": "rich_text", "block_id": "b", "elements": [{"type": "rich_text_section",
         "elements": [{"type": "user", "user_id": "U3"}, {"type": "date", "timestamp": 1}]}]},
    ]}  # fmt: skip
    action = {
        "type": "block_actions", "user": {"id": "U1", "username": "a", "team_id": "T1"},
        "team": None, "enterprise": None, "api_app_id": "A1", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": "1.2", "is_ephemeral": False},
        "channel": {"id": "C1", "name": "lunch"}, "message": message,
        "state": {"values": {"id": {"type": {"type": "plain_text_input", "value": None}}}},
        "actions": [{"action_id": "x", "block_id": "b", "value": "1", "type": "button",
                     "text": {"type": "plain_text", "text": "Go"}, "action_ts": "1.3"}],
    }  # fmt: skip
    user_change = {
        "type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event_time": 1,
        "authorizations": [{"enterprise_id": None, "team_id": "T1", "is_bot": True}],
        "event": {"type": "user_change", "event_ts": "1.2", "user": {
            "id": "U1", "deleted": False, "tz_offset": 3600,
            "profile": {"fields": {"Xf1": {"value": "x", "alt": ""}}}}},
    }  # fmt: skip
    events = [{"type": "event_callback", "team_id": "T1", "event_time": 1, "event": event,
               "authorizations": [{"enterprise_id": "E1", "team_id": None, "is_bot": True}]}
              for event in (
                  {"type": "member_joined_channel", "user": "U1", "channel": "C1",
                   "channel_type": "C", "team": "T1", "inviter": "U2", "enterprise": "E1"},
                  {"type": "member_left_channel", "user": "U1", "channel": "C1",
                   "channel_type": "G", "team": "T1"},
                  {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home",
                   "event_ts": "1.2", "view": {"id": "V1", "type": "home", "blocks": []}},
                  {"type": "app_uninstalled"},
                  {"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["UBOT"]}},
                  {"type": "team_access_granted", "team_ids": ["T1", "T2"]},
                  {"type": "team_access_revoked", "team_ids": []},
              )]  # fmt: skip
    settings_form = {  # the app's own modal, every kind of element it holds, as submitted
        "type": "view_submission", "team": {"id": "T1", "domain": "acme"},
        "enterprise": {"id": "E1", "name": "Org"}, "user": {"id": "U1", "team_id": "T1"},
        "is_enterprise_install": False, "response_urls": [],
        "view": {"id": "V1", "type": "modal", "callback_id": "settings", "hash": "1.2",
                 "private_metadata": '{"program": 1}', "previous_view_id": None,
                 "root_view_id": "V1", "external_id": "",
                 "title": {"type": "plain_text", "text": "Lunch settings"},
                 "state": {"values": {
                     "cadence": {"value": {"type": "static_select", "selected_option": None}},
                     "time": {"value": {"type": "timepicker", "selected_time": "12:30"}},
                     "options": {"value": {"type": "checkboxes", "selected_options": [
                         {"text": {"type": "plain_text", "text": "x"}, "value": "heads_up"}]}},
                     "avoid": {"value": {"type": "multi_users_select",
                                         "selected_users": ["U2"]}},
                     "tz": {"value": {"type": "plain_text_input", "value": None}}}}},
    }  # fmt: skip
    home_click = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
                  "container": {"type": "view", "view_id": "V1"},
                  "view": {"id": "V1", "type": "home", "state": {"values": {}}},
                  "actions": [{"action_id": "home_pause", "value": "1", "type": "button"}]}
    for payload in (action, user_change, *events, settings_form, home_click,
                    {"command": "/meet", "text": "help"}):  # fmt: skip
        assert problem(payload) is None, payload
    with_attachment = {**action, "message": {**action["message"], "attachments": [{"id": 1}]}}
    assert problem(with_attachment) is None  # a message is Slack's to shape
    for payload in MISSHAPEN_PAYLOADS:
        assert problem(payload) is not None, payload


def test_a_head_probe_gets_the_headers_of_get_and_no_body(served):
    """Load balancers probe with HEAD: a body sent anyway made gunicorn log a warning at
    every probe ("WSGI app sent body bytes on a no-body response")."""
    for path in ("/healthz", "/metrics"):
        answers = {}
        for method in ("GET", "HEAD"):
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
            try:
                connection.request(method, path)
                response = connection.getresponse()
                answers[method] = (response.status, response.getheader("Content-Type"),
                                   response.read())  # fmt: skip
            finally:
                connection.close()
        assert answers["HEAD"][:2] == answers["GET"][:2] and answers["HEAD"][2] == b""
    assert "no-body response" not in served.output()
