"""The Slack double must look like Slack to slack_sdk's real client, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.sandbox import signing
from bot.sandbox.slack import SlackDouble

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack():
    double = SlackDouble().start()
    double.rate_limit_scale = 1000  # Slack's tiers, sped up (see test_slack_tiers_are_on)
    try:
        double.add_team("T1", name="Acme", bot_token="xoxb-T1")
        double.add_team("T2", name="Globex", bot_token="xoxb-T2", bot_user_id="UBOT2")
        for i in range(1, 8):
            double.add_user("T1", f"U{i}", real_name=f"Person {i}", email=f"p{i}@acme.test")
        double.add_user("T1", "UGONE", deleted=True)
        double.add_user("T2", "UX", real_name="Globex Person", tz="America/New_York")
        double.add_channel("T1", "C1", "lunch", members=["U1", "U2", "U3", "U4", "U5", "UBOT"])
        double.add_channel("T1", "C2", "random", members=["U1"])
        double.add_channel("T1", "G9", "secret", members=["U1"], is_private=True)
        yield double
    finally:
        double.stop()


def client(double: SlackDouble, token: str = "xoxb-T1", **kw) -> WebClient:
    return WebClient(token=token, base_url=double.api_url, timeout=5, **kw)


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


def test_stop_closes_the_socket():
    double = SlackDouble().start()
    url = double.api_url
    double.add_team()
    assert client(double).auth_test()["ok"]
    double.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "auth.test", timeout=2)


def test_auth_test_and_token_isolation(slack):
    me = client(slack).auth_test()
    assert (me["team_id"], me["user_id"], me["team"]) == ("T1", "UBOT", "Acme")
    assert me["url"] == "https://acme.slack.com/"
    globex = client(slack, "xoxb-T2")
    assert globex.auth_test()["user_id"] == "UBOT2"
    ids = {m["id"] for page in globex.users_list() for m in page["members"]}
    assert ids == {"USLACKBOT", "UBOT2", "UX"}
    assert error_of(lambda: globex.users_info(user="U1")) == "user_not_found"
    assert error_of(lambda: globex.conversations_members(channel="C1")) == "channel_not_found"
    assert error_of(lambda: client(slack, "xoxb-nope").auth_test()) == "invalid_auth"
    assert error_of(lambda: WebClient(base_url=slack.api_url).auth_test()) == "not_authed"
    slack.revoke_token("xoxb-T2")
    assert error_of(globex.auth_test) == "token_revoked"
    assert [c.team_id for c in slack.calls("auth.test")] == ["T1", "T2", None, None, None]


def test_users_list_paginates_with_cursors(slack):
    slack.max_page_size = 3
    web = client(slack)
    # SlackResponse iteration reuses one object, so read each page while on it
    pages = [
        (p["members"], p["response_metadata"]["next_cursor"]) for p in web.users_list(limit=50)
    ]
    assert [len(members) for members, _ in pages] == [3, 3, 3, 1]
    assert [bool(cursor) for _, cursor in pages] == [True, True, True, False]
    ids = [m["id"] for members, _ in pages for m in members]
    assert ids[:2] == ["USLACKBOT", "UBOT"] and len(set(ids)) == 10
    sent = [c.args.get("cursor") for c in slack.calls("users.list")]
    assert sent[0] is None and all(sent[1:])
    assert error_of(lambda: web.users_list(cursor="garbage!")) == "invalid_cursor"
    slack.max_page_size = None
    assert web.conversations_members(channel="C1", limit=2)["members"] == ["U1", "U2"]
    members = [m for p in web.conversations_members(channel="C1", limit=2) for m in p["members"]]
    assert members == ["U1", "U2", "U3", "U4", "U5", "UBOT"]


def test_user_objects_have_slack_shape(slack):
    slack.set_profile_fields("T1", [{"id": "Xf1", "label": "Grade"}])
    slack.update_user("T1", "U2", title="Staff Engineer", profile_fields={"Xf1": "L5"})
    web = client(slack)
    user = web.users_info(user="U2")["user"]
    assert user["team_id"] == "T1" and user["is_bot"] is False and user["deleted"] is False
    assert user["tz"] == "Europe/Berlin" and user["tz_offset"] in (3600, 7200)
    assert user["profile"]["title"] == "Staff Engineer"
    profile = web.users_profile_get(user="U2", include_labels=True)["profile"]
    assert profile["fields"]["Xf1"] == {"value": "L5", "alt": "", "label": "Grade"}
    assert web.team_profile_get()["profile"]["fields"][0]["label"] == "Grade"
    assert web.users_info(user="UBOT")["user"]["is_bot"] is True
    assert web.users_info(user="USLACKBOT")["user"]["is_bot"] is False
    assert web.users_info(user="UGONE")["user"]["deleted"] is True
    assert web.users_lookupByEmail(email="p3@acme.test")["user"]["id"] == "U3"
    assert error_of(lambda: web.users_lookupByEmail(email="x@y.z")) == "users_not_found"
    slack.grant_scopes("T1", "team:read")  # not one the app asks for
    assert web.team_info()["team"] == web.team_info()["team"] | {"id": "T1", "name": "Acme"}


def test_conversations_open_is_idempotent_and_validates(slack):
    web = client(slack)
    first = web.conversations_open(users="U1,U2")["channel"]["id"]
    again = web.conversations_open(users=["U2", "U1"])
    assert again["channel"]["id"] == first and again["already_open"] is True
    assert web.conversations_open(users="U1,U2,UBOT")["channel"]["id"] == first
    other = web.conversations_open(users="U1,U3")["channel"]["id"]
    im = web.conversations_open(users="U1")["channel"]["id"]
    assert len({first, other, im}) == 3 and im.startswith("D")
    assert slack.conversation_id("T1", ["U1", "U2"]) == first
    slack.grant_scopes("T1", "mpim:read")  # not one the app asks for
    assert sorted(web.conversations_members(channel=first)["members"]) == ["U1", "U2", "UBOT"]
    assert web.conversations_info(channel=first)["channel"]["is_mpim"] is True
    assert error_of(lambda: web.conversations_open(users="U1,U404")) == "user_not_found"
    assert error_of(lambda: web.conversations_open(users="U1,UGONE")) == "user_disabled"


def test_channels_join_and_membership(slack):
    web = client(slack)
    info = web.conversations_info(channel="C2")["channel"]
    assert (info["name"], info["is_member"], info["num_members"]) == ("random", False, 1)
    assert error_of(lambda: web.chat_postMessage(channel="C2", text="hi")) == "not_in_channel"
    web.conversations_join(channel="C2")
    assert web.conversations_info(channel="C2")["channel"]["is_member"] is True
    assert web.chat_postMessage(channel="C2", text="hi")["ok"]
    assert error_of(lambda: web.conversations_info(channel="G9")) == "channel_not_found"
    slack.add_member("T1", "G9", "UBOT")
    assert error_of(lambda: web.conversations_join(channel="G9")) == (
        "method_not_supported_for_channel_type"
    )
    slack.remove_member("T1", "C1", "U5")
    assert "U5" not in web.conversations_members(channel="C1")["members"]


def test_messages_are_recorded_updated_and_deleted(slack):
    web = client(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]
    posted = web.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    dm = web.chat_postMessage(channel="U3", text="psst")
    assert dm["channel"] == slack.conversation_id("T1", ["U3"])
    assert float(dm["ts"]) > float(posted["ts"])
    web.chat_update(channel="C1", ts=posted["ts"], text="edited")
    msgs = slack.messages("C1")
    assert [(m.text, m.blocks, m.user) for m in msgs] == [("edited", blocks, "UBOT")]
    web.chat_postEphemeral(channel="C1", user="U2", text="only you")
    assert slack.ephemerals(user="U2")[0].text == "only you"
    web.chat_delete(channel="C1", ts=posted["ts"])
    assert slack.messages("C1") == []
    assert error_of(lambda: web.chat_update(channel="C1", ts="1.0", text="x")) == (
        "message_not_found"
    )
    assert error_of(lambda: web.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    assert error_of(lambda: web.chat_postMessage(channel="C404", text="x")) == ("channel_not_found")
    call = slack.calls("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.token == "xoxb-T1" and call.ok
    assert not slack.calls("chat.postMessage")[-1].ok
    slack.reset_calls()
    assert slack.calls() == []


def test_form_encoded_blocks_and_views(slack):
    web = client(slack)
    # api_call with params sends a form body, with blocks as a JSON string inside it
    web.api_call(
        "chat.postMessage", params={"channel": "C1", "blocks": json.dumps([{"type": "divider"}])}
    )
    assert slack.messages("C1")[0].blocks == [{"type": "divider"}]
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    view = web.views_publish(user_id="U1", view=home)["view"]
    assert slack.home_view("T1", "U1")["id"] == view["id"]
    assert error_of(lambda: web.views_publish(user_id="U1", view={"type": "modal"})) == (
        "invalid_arguments"
    )
    modal = web.views_open(
        trigger_id=slack.new_trigger_id(), view={"type": "modal", "callback_id": "m"}
    )
    updated = web.views_update(view_id=modal["view"]["id"], view={"type": "modal", "blocks": []})
    assert updated["view"]["id"] == modal["view"]["id"]
    assert error_of(lambda: web.views_update(view_id="V404", view={"type": "modal"})) == (
        "not_found"
    )
    assert error_of(lambda: web.api_call("nope.method")) == "unknown_method"


def test_429_is_retried_by_slack_sdk(slack):
    slack.fail_next("users.info", status=429, retry_after=1)
    web = client(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    assert web.users_info(user="U1")["user"]["id"] == "U1"
    assert time.monotonic() - started >= 1.0
    calls = slack.calls("users.info")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]


def test_injected_server_and_api_errors(slack):
    web = client(slack)
    slack.fail_next("chat.postMessage", status=500, count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="C1", text="x")
        assert info.value.response.status_code == 500
    assert slack.messages() == []
    slack.fail_next("conversations.open", error="user_not_found")
    assert error_of(lambda: web.conversations_open(users="U1")) == "user_not_found"
    assert web.chat_postMessage(channel="C1", text="x")["ok"]
    assert web.conversations_open(users="U1")["ok"]
    assert len(slack.messages()) == 1 and len(slack.calls("chat.postMessage")) == 3


def test_rate_limit_bucket(slack):
    slack.rate_limit_scale = 1
    slack.set_rate_limit("users.info", per_minute=60, burst=2)
    web = client(slack)
    web.users_info(user="U1")
    web.users_info(user="U1")
    with pytest.raises(SlackApiError) as info:
        web.users_info(user="U1")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert client(slack, "xoxb-T2").users_info(user="UX")["ok"]  # separate bucket per team
    slack.rate_limit_scale = 60.0  # 1/s becomes 60/s: a token is back within ~17 ms
    time.sleep(0.05)
    assert web.users_info(user="U1")["ok"]


def test_per_channel_post_limit(slack):
    slack.rate_limit_scale = 1
    slack.set_rate_limit("chat.postMessage", per_minute=60, burst=1, per_channel=True)
    web = client(slack)
    web.chat_postMessage(channel="C1", text="1")
    web.chat_postMessage(channel="U1", text="other channel")
    assert error_of(lambda: web.chat_postMessage(channel="C1", text="2")) == "ratelimited"


def test_response_url(slack):
    url = slack.new_response_url()
    resp = WebhookClient(url).send(text="done", response_type="ephemeral")
    assert resp.status_code == 200
    assert slack.responses(url) == [{"text": "done", "response_type": "ephemeral"}]
    assert slack.responses() == slack.responses(url.rsplit("/", 1)[1])
    assert WebhookClient(slack.url + "response/unknown").send(text="x").status_code == 404


def test_oauth_v2_access(slack):
    slack.oauth_client_secret = "shh"
    slack.register_oauth_code("code-1", "T3", "xoxb-T3", bot_user_id="UB3", authed_user_id="U9")
    web = WebClient(base_url=slack.api_url)
    assert (
        error_of(lambda: web.oauth_v2_access(client_id="cid", client_secret="bad", code="code-1"))
        == "bad_client_secret"
    )
    got = web.oauth_v2_access(client_id="cid", client_secret="shh", code="code-1")
    assert got["access_token"] == "xoxb-T3" and got["token_type"] == "bot"
    assert got["team"] == {"id": "T3", "name": "Team T3"} and got["authed_user"] == {"id": "U9"}
    assert got["bot_user_id"] == "UB3" and got["enterprise"] is None
    assert got["is_enterprise_install"] is False
    assert client(slack, "xoxb-T3").auth_test()["team_id"] == "T3"
    assert (
        error_of(lambda: web.oauth_v2_access(client_id="cid", client_secret="shh", code="code-1"))
        == "code_already_used"
    )
    # client credentials as form fields instead of HTTP Basic auth
    slack.register_oauth_code("code-2", "T1", "xoxb-T1-new")
    form = web.api_call(
        "oauth.v2.access", params={"client_id": "cid", "client_secret": "shh", "code": "code-2"}
    )
    assert form["team"]["id"] == "T1" and client(slack, "xoxb-T1-new").auth_test()["ok"]


def test_latency(slack):
    slack.latency = 0.1
    started = time.monotonic()
    client(slack).auth_test()
    assert time.monotonic() - started >= 0.1


def test_signed_requests_verify_with_slack_sdk():
    verifier = SignatureVerifier(SECRET)
    url = "http://127.0.0.1:1/response/x"
    builders = [
        signing.slash_command(SECRET, "join", user_id="U1", channel_id="C1", response_url=url),
        signing.block_action(
            SECRET,
            "accept",
            "m1",
            user_id="U1",
            channel_id="G1",
            message_ts="1.000001",
            response_url=url,
        ),
        signing.view_submission(SECRET, "prefs", {"b": {"a": "hello"}}, user_id="U1"),
        signing.event_callback(SECRET, {"type": "app_home_opened", "user": "U1"}, retry_num=1),
        signing.url_verification(SECRET, "chal"),
    ]
    for body, headers in builders:
        assert verifier.is_valid_request(body, headers)
        assert not verifier.is_valid_request(body, signing.bad_signature(headers))
        assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale_body, stale = signing.slash_command(
        SECRET, "x", user_id="U1", channel_id="C1", response_url=url, timestamp=time.time() - 301
    )
    assert not verifier.is_valid_request(stale_body, stale)


def test_signed_request_shapes():
    body, headers = signing.slash_command(
        SECRET, "join now", user_id="U1", channel_id="C1", response_url="http://r", team_id="T2"
    )
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["command"] == "/meet" and form["text"] == "join now" and form["team_id"] == "T2"
    assert form["is_enterprise_install"] == "false" and form["trigger_id"].count(".") == 2
    body, _ = signing.block_action(SECRET, "a", "v", user_id="U1", view={"id": "V1"})
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["container"] == {"type": "view", "view_id": "V1"}
    assert payload["actions"][0]["value"] == "v" and payload["user"]["team_id"] == "T1"
    body, _ = signing.view_submission(
        SECRET, "cb", {"b": {"a": "x"}}, user_id="U1", private_metadata="m"
    )
    view = json.loads(parse_qs(body.decode())["payload"][0])["view"]
    assert view["state"]["values"]["b"]["a"]["value"] == "x" and view["private_metadata"] == "m"
    body, headers = signing.event_callback(SECRET, {"type": "x"}, team_id="T2", retry_num=2)
    event = json.loads(body)
    assert event["authorizations"][0]["team_id"] == "T2" and event["event_id"].startswith("Ev")
    assert headers["X-Slack-Retry-Num"] == "2"
    req = signing.bolt_request(body, headers)
    assert req.body["team_id"] == "T2"


def test_post_helper_returns_errors_instead_of_raising(slack):
    body, headers = signing.url_verification(SECRET, "c")
    status, _, text = signing.post(slack.url + "nowhere", body, headers)
    assert status == 404 and json.loads(text)["error"] == "not_found"
    status, _, text = signing.post(slack.new_response_url(), body, headers)
    assert status == 200 and json.loads(text) == {"ok": True}


def test_signed_requests_dispatch_through_bolt(slack):
    from slack_bolt import App

    # process_before_response runs the listener inside dispatch, so asserts need no waiting
    app = App(
        signing_secret=SECRET,
        client=client(slack),
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/meet")
    def meet(ack, respond, command, client):
        ack("on it")
        respond("paired")
        client.chat_postMessage(channel=command["channel_id"], text="hi " + command["text"])

    url = slack.new_response_url()
    body, headers = signing.slash_command(
        SECRET, "now", user_id="U1", channel_id="C1", response_url=url
    )
    assert app.dispatch(signing.bolt_request(body, headers)).status == 200
    assert app.dispatch(signing.bolt_request(body, signing.bad_signature(headers))).status == 401
    stale = signing.slash_command(
        SECRET, "now", user_id="U1", channel_id="C1", response_url=url, timestamp=time.time() - 600
    )
    assert app.dispatch(signing.bolt_request(*stale)).status == 401
    assert [m.text for m in slack.messages("C1")] == ["hi now"]
    assert slack.responses(url) == [{"text": "paired"}]


# -- Socket Mode ----------------------------------------------------------------------------------


class RawWebSocket:
    """A bare client, to send what slack_sdk never would: fragments, unmasked frames, closes."""

    def __init__(self, url: str, key: str | None = None):
        parts = urlsplit(url)
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        self.sock.sendall(
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.reader = self.sock.makefile("rb")
        self.status = int(self.reader.readline().split()[1])
        self.headers = {}
        while line := self.reader.readline().strip():
            name, _, value = line.decode().partition(":")
            self.headers[name.lower()] = value.strip()

    def send(self, opcode: int, data: bytes, fin: bool = True, mask: bool = True) -> None:
        head = bytes([(0x80 if fin else 0) | opcode])
        size = len(data)
        head += bytes([(0x80 if mask else 0) | size]) if size < 126 else b""
        if size >= 126:
            head += bytes([(0x80 if mask else 0) | 126]) + size.to_bytes(2, "big")
        if mask:
            key = os.urandom(4)
            head, data = head + key, bytes(b ^ key[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + data)

    def receive(self) -> tuple[int, bytes]:
        first, second = self.reader.read(2)
        assert not second & 0x80, "frames from the server are never masked"
        size = second & 0x7F
        if size >= 126:
            size = int.from_bytes(self.reader.read(2 if size == 126 else 8), "big")
        return first & 0x0F, self.reader.read(size)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def socket_url(slack) -> str:
    return WebClient(base_url=slack.api_url).apps_connections_open(app_token="xapp-1")["url"]


def test_apps_connections_open_takes_only_app_level_tokens(slack):
    slack.add_app_token("xapp-1")
    web = WebClient(base_url=slack.api_url)
    url = web.apps_connections_open(app_token="xapp-1")["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack.port}/link/?ticket=")
    assert slack.calls("apps.connections.open")[0].team_id == "T1"
    assert error_of(lambda: web.apps_connections_open(app_token="xoxb-T1")) == (
        "not_allowed_token_type"
    )
    assert error_of(lambda: client(slack, "xapp-1").auth_test()) == "not_allowed_token_type"
    assert error_of(lambda: web.apps_connections_open(app_token="xapp-2")) == "invalid_auth"
    slack.revoke_token("xapp-1")
    assert error_of(lambda: web.apps_connections_open(app_token="xapp-1")) == "token_revoked"
    assert RawWebSocket(url).status == 401  # a URL handed out before is no good either


def test_socket_mode_handshake_hello_envelopes_and_acknowledgements(slack):
    slack.add_app_token("xapp-1")
    url = socket_url(slack)
    ws = RawWebSocket(url)
    try:
        assert ws.status == 101 and ws.headers["upgrade"] == "websocket"
        digest = hashlib.sha1((ws.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        assert ws.headers["sec-websocket-accept"] == base64.b64encode(digest).decode()
        opcode, data = ws.receive()
        hello = json.loads(data)
        assert opcode == 0x1 and hello["type"] == "hello" and hello["num_connections"] == 1
        assert ws.receive()[0] == 0x9  # a ping, which needs a pong
        ws.send(0xA, b"slack-double")
        ws.send(0x9, b"are you there")
        assert ws.receive() == (0xA, b"are you there")
        assert slack.socket_connections()[0].pongs == 1

        payload = {"command": "/meet", "text": "x" * 300}  # a 16-bit length on the way out
        envelope_id = slack.socket_send("slash_commands", payload)
        opcode, data = ws.receive()
        assert json.loads(data) == {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
        }
        ack = json.dumps({"envelope_id": envelope_id, "payload": {"text": "é" * 100}}).encode()
        ws.send(0x1, ack[:7], fin=False)  # an acknowledgement in two fragments
        ws.send(0x0, ack[7:])
        event_id = slack.socket_send("events_api", {"event": {}}, retry_attempt=1)
        event = json.loads(ws.receive()[1])
        assert event["accepts_response_payload"] is False and event["retry_attempt"] == 1
        ws.send(0x1, json.dumps({"envelope_id": event_id}).encode())
        deadline = time.monotonic() + 5
        while len(slack.socket_acks()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slack.socket_acks(envelope_id) == [json.loads(ack)]
        assert slack.socket_acks(event_id) == [{"envelope_id": event_id}]

        ws.send(0x8, (1000).to_bytes(2, "big") + b"bye")
        assert ws.receive() == (0x8, (1000).to_bytes(2, "big"))  # the closing handshake
        assert ws.reader.read(1) == b""
    finally:
        ws.close()
    deadline = time.monotonic() + 5
    while slack.socket_connections()[0].active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slack.socket_connections()[0].close_code == 1000
    with pytest.raises(RuntimeError, match="no open Socket Mode connection"):
        slack.socket_send("events_api", {})


def test_socket_mode_refuses_bad_handshakes_and_unmasked_frames(slack):
    slack.add_app_token("xapp-1")
    assert RawWebSocket(f"ws://127.0.0.1:{slack.port}/link/?ticket=made-up").status == 401
    url = socket_url(slack)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace("ws:", "http:"), timeout=5)
    assert refused.value.code == 400
    ws = RawWebSocket(url)  # the ticket still works: the plain GET was not a WebSocket
    try:
        assert ws.status == 101 and RawWebSocket(url).status == 401  # but only once
        ws.receive(), ws.receive()  # hello, ping
        ws.send(0x1, b"{}", mask=False)
        opcode, data = ws.receive()
        assert opcode == 0x8 and int.from_bytes(data[:2], "big") == 1002
    finally:
        ws.close()


def test_disconnect_moves_envelopes_to_the_new_connection(slack):
    slack.add_app_token("xapp-1")
    old = RawWebSocket(socket_url(slack))
    new = None
    try:
        old.receive(), old.receive()
        slack.socket_disconnect()
        message = json.loads(old.receive()[1])
        assert message["type"] == "disconnect" and message["reason"] == "refresh_requested"
        with pytest.raises(RuntimeError):
            slack.socket_send("events_api", {})  # never down a connection being recycled
        new = RawWebSocket(socket_url(slack))
        assert json.loads(new.receive()[1])["num_connections"] == 2
        assert old.receive()[0] == 0x8  # replaced, so Slack closes it
        new.receive()
        slack.socket_send("events_api", {"n": 1})
        assert json.loads(new.receive()[1])["payload"] == {"n": 1}
        states = [(c.active, c.retiring) for c in slack.socket_connections()]
        assert states in ([(False, True), (True, False)], [(True, True), (True, False)])
    finally:
        old.close()
        if new is not None:
            new.close()


# -- as strict as Slack ---------------------------------------------------------------------------


def test_slack_tiers_are_on_by_default():
    with SlackDouble() as double:
        double.add_team("T1")
        web = client(double)
        web.users_list()
        assert error_of(web.users_list) == "ratelimited"  # Tier 2: 20 a minute, no burst
        assert web.users_info(user="UBOT")["ok"]  # another method, another bucket
        call = double.calls("users.list")[-1]
        assert (call.status, call.error) == (429, "ratelimited")


def test_granted_scopes_come_from_the_manifest_and_are_enforced(slack):
    from bot.common.config import BOT_SCOPES  # manifest.yml's, see tests/test_manifest.py

    response = client(slack).auth_test()
    assert sorted(response.headers["X-OAuth-Scopes"].split(",")) == sorted(BOT_SCOPES)

    slack.add_team("T3", bot_token="xoxb-T3", scopes="chat:write,users:read")
    slack.add_user("T3", "U1")
    slack.add_channel("T3", "C1", "lunch", members=["U1", "UBOT"])
    web = client(slack, "xoxb-T3")
    assert web.users_info(user="U1")["ok"]
    with pytest.raises(SlackApiError) as info:
        web.users_lookupByEmail(email="p1@acme.test")
    body = info.value.response
    assert (body["error"], body["needed"]) == ("missing_scope", "users:read.email")
    assert body["provided"] == "chat:write,users:read"
    assert body.headers["X-Accepted-OAuth-Scopes"] == "users:read.email"
    assert error_of(lambda: web.conversations_open(users="U1")) == "missing_scope"
    assert error_of(lambda: web.conversations_members(channel="C1")) == "missing_scope"
    assert error_of(lambda: web.conversations_history(channel="C1")) == "missing_scope"
    assert slack.messages() == [] and web.chat_postMessage(channel="C1", text="hi")["ok"]


def test_conversation_scopes_follow_the_kind_of_conversation(slack):
    web = client(slack)
    mpim = web.conversations_open(users="U1,U2")["channel"]["id"]
    web.chat_postMessage(channel=mpim, text="intro")
    assert web.conversations_history(channel=mpim)["messages"][0]["text"] == "intro"
    # manifest.yml asks for mpim:history, not channels:history, nor mpim:read
    assert error_of(lambda: web.conversations_history(channel="C1")) == "missing_scope"
    assert error_of(lambda: web.conversations_info(channel=mpim)) == "missing_scope"
    assert web.conversations_info(channel="C1")["channel"]["num_members"] == 6


def test_conversations_open_refuses_more_than_eight_and_external_people(slack):
    web = client(slack)
    for i in range(8, 10):
        slack.add_user("T1", f"U{i}")
    nine = ",".join(f"U{i}" for i in range(1, 10))
    assert error_of(lambda: web.conversations_open(users=nine)) == "too_many_users"
    assert web.conversations_open(users=",".join(f"U{i}" for i in range(1, 9)))["ok"]
    slack.add_user("T1", "UEXT")
    slack.update_user("T1", "UEXT", home_team="TOTHER")
    assert web.conversations_open(users="UEXT")["ok"]
    assert error_of(lambda: web.conversations_open(users="U1,UEXT")) == "invalid_user_combination"
    slack.add_member("T1", "C2", "UEXT")  # now in a (Slack Connect) channel together
    assert web.conversations_open(users="U1,UEXT")["ok"]
    slack.update_user("T1", "UEXT", visible=False)
    assert error_of(lambda: web.conversations_open(users="UEXT")) == "user_not_visible"


def test_block_kit_limits(slack):
    web = client(slack)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert web.chat_postMessage(channel="C1", text="ok", blocks=[section] * 50)["ok"]
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="C1", text="too many", blocks=[section] * 51)
    assert info.value.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in info.value.response["response_metadata"]["messages"][0]
    long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert error_of(lambda: web.chat_postMessage(channel="C1", text="t", blocks=[long])) == (
        "invalid_blocks"
    )
    fine = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}
    assert web.chat_postMessage(channel="C1", text="t", blocks=[fine])["ok"]
    assert len(slack.messages("C1")) == 2
    home = {"type": "home", "blocks": [section] * 100}
    assert web.views_publish(user_id="U1", view=home)["ok"]
    home["blocks"].append(section)
    assert error_of(lambda: web.views_publish(user_id="U1", view=home)) == "invalid_arguments"


def test_a_block_id_once_per_message_or_view_and_an_action_id_once_per_block(slack):
    """Slack refuses a message whose blocks share a block_id, or an actions block whose
    elements share an action_id (`invalid_blocks`; `invalid_arguments` for a view)."""
    web = client(slack)
    section = {"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "x"}}
    other = {**section, "block_id": "b2"}
    button = {"type": "button", "action_id": "a1", "text": {"type": "plain_text", "text": "A"}}
    actions = {"type": "actions", "block_id": "b3", "elements": [button, {**button, "value": "2"}]}
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="C1", text="t", blocks=[section, other, section])
    assert info.value.response["error"] == "invalid_blocks"
    (problem,) = info.value.response["response_metadata"]["messages"]
    assert problem.endswith("[json-pointer:/blocks/2/block_id]")
    assert error_of(lambda: web.chat_postMessage(channel="C1", text="t", blocks=[actions])) == (
        "invalid_blocks"
    )
    posted = web.chat_postMessage(channel="C1", text="t", blocks=[section, other])
    assert error_of(lambda: web.chat_update(channel="C1", ts=posted["ts"], text="t",
                                            blocks=[other, other])) == "invalid_blocks"  # fmt: skip
    home = {"type": "home", "blocks": [section, section]}
    assert error_of(lambda: web.views_publish(user_id="U1", view=home)) == "invalid_arguments"
    # without block_ids Slack makes its own; the same action_id in two blocks is allowed
    plain = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    one = {"type": "actions", "elements": [button]}
    assert web.chat_postMessage(channel="C1", text="t", blocks=[plain, plain, one, one])["ok"]
    assert len(slack.messages("C1")) == 2


def test_response_url_takes_five_posts_within_thirty_minutes(slack):
    url = slack.new_response_url()
    hook = WebhookClient(url)
    assert [hook.send(text=str(i)).status_code for i in range(5)] == [200] * 5
    refused = hook.send(text="sixth")
    assert (refused.status_code, json.loads(refused.body)["error"]) == (404, "used_url")
    with freeze_time(tick=True) as frozen:
        late = slack.new_response_url()
        frozen.tick(30 * 60 + 1)
        refused = WebhookClient(late).send(text="late")
    assert (refused.status_code, json.loads(refused.body)["error"]) == (404, "expired_url")
    assert len(slack.responses()) == 5


def test_trigger_id_opens_one_view_within_three_seconds(slack):
    web = client(slack)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Settings"}, "blocks": []}
    trigger = slack.new_trigger_id()
    assert web.views_open(trigger_id=trigger, view=modal)["ok"]
    assert error_of(lambda: web.views_open(trigger_id=trigger, view=modal)) == "expired_trigger_id"
    assert error_of(lambda: web.views_open(trigger_id="1.2.3", view=modal)) == "invalid_trigger_id"
    with freeze_time(tick=True) as frozen:
        slow = slack.new_trigger_id()
        frozen.tick(3.5)
        assert error_of(lambda: web.views_open(trigger_id=slow, view=modal)) == (
            "expired_trigger_id"
        )


def test_enterprise_grid_install(slack):
    slack.register_oauth_code("code-g", "TG", "xoxb-TG", enterprise_id="E1", team_name="Grid")
    got = WebClient(base_url=slack.api_url).oauth_v2_access(
        client_id="cid", client_secret="s", code="code-g"
    )
    assert got["enterprise"] == {"id": "E1", "name": "Org E1"}
    assert got["team"]["id"] == "TG" and got["is_enterprise_install"] is False
    me = client(slack, "xoxb-TG").auth_test()
    assert me["enterprise_id"] == "E1" and me["team_id"] == "TG"
    slack.register_oauth_code("code-o", "TO", "xoxb-TO", enterprise_id="E1",
                              is_enterprise_install=True)  # fmt: skip
    org = WebClient(base_url=slack.api_url).oauth_v2_access(
        client_id="cid", client_secret="s", code="code-o"
    )
    assert org["team"] is None and org["is_enterprise_install"] is True


def test_an_org_wide_token_acts_in_the_workspaces_the_app_was_added_to(slack):
    for team in ("TA", "TB", "TC"):
        slack.add_team(team, bot_token=f"xoxb-{team}-own", enterprise_id="E1")
    slack.add_channel("TB", "CB", "lunch", members=["UBOT"])
    slack.register_oauth_code("code-o", "TA", "xoxb-org", enterprise_id="E1",
                              is_enterprise_install=True)  # fmt: skip
    WebClient(base_url=slack.api_url).oauth_v2_access(
        client_id="cid", client_secret="s", code="code-o"
    )
    org = client(slack, "xoxb-org")
    me = org.auth_test()
    assert (me["team_id"], me["enterprise_id"], me["is_enterprise_install"]) == ("E1", "E1", True)
    # users.list must be told which workspace ("required if org token is used")
    assert error_of(lambda: org.users_list()) == "missing_argument"
    assert org.users_list(team_id="TA")["members"]
    assert error_of(lambda: org.users_list(team_id="TB")) == "team_access_not_granted"
    assert error_of(lambda: org.chat_postMessage(channel="CB", text="hi")) == "channel_not_found"
    slack.grant_org_access("E1", "TB")
    org.chat_postMessage(channel="CB", text="hi")
    assert [(m.team_id, m.text) for m in slack.messages("CB")] == [("TB", "hi")]
    slack.revoke_org_access("E1", "TB")
    assert error_of(lambda: org.users_list(team_id="TB")) == "team_access_not_granted"
    with pytest.raises(ValueError):
        slack.grant_org_access("E2", "TC")  # not a workspace of that org


def test_token_rotation_issues_expiring_tokens_and_refreshes_once(slack):
    slack.token_lifetime = 43200
    slack.register_oauth_code("code-r", "TR", "xoxb-TR")
    oauth = WebClient(base_url=slack.api_url)
    got = oauth.oauth_v2_access(client_id="cid", client_secret="s", code="code-r")
    assert got["expires_in"] == 43200 and got["refresh_token"].startswith("xoxe-")
    assert client(slack, "xoxb-TR").auth_test()["ok"]
    refreshed = oauth.oauth_v2_access(
        client_id="cid", client_secret="s", grant_type="refresh_token",
        refresh_token=got["refresh_token"],
    )  # fmt: skip
    assert refreshed["token_type"] == "bot" and refreshed["access_token"] != "xoxb-TR"
    assert refreshed["refresh_token"] != got["refresh_token"]
    # a refresh token is good once
    again = lambda: oauth.oauth_v2_access(  # noqa: E731
        client_id="cid", client_secret="s", grant_type="refresh_token",
        refresh_token=got["refresh_token"],
    )  # fmt: skip
    assert error_of(again) == "invalid_refresh_token"
    with freeze_time(tick=True) as frozen:
        frozen.tick(43200)
        assert error_of(client(slack, "xoxb-TR").auth_test) == "token_expired"
        assert error_of(client(slack, refreshed["access_token"]).auth_test) == "token_expired"


def test_a_slack_connect_user_carries_their_own_organisations_team(slack):
    """Seen from T1, someone from another organisation: their team, and `is_stranger` only
    when Slack would say so."""
    slack.add_user("T1", "UEXT", home_team="TOTHER", is_stranger=True)
    slack.add_user("T1", "UPARTNER", home_team="TOTHER")
    web = WebClient(token="xoxb-T1", base_url=slack.api_url)
    user = web.users_info(user="UEXT")["user"]
    assert (user["team_id"], user["profile"]["team"], user["is_stranger"]) == (
        "TOTHER", "TOTHER", True,
    )
    partner = web.users_info(user="UPARTNER")["user"]
    assert partner["team_id"] == "TOTHER" and "is_stranger" not in partner
    assert "is_stranger" not in web.users_info(user="U1")["user"]
