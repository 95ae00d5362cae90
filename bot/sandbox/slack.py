"""A fake Slack Web API served over real HTTP from an in-memory workspace.

The app under test runs partly in other processes (gunicorn workers, the CLI) that only know
``SLACK_API_URL``, so the fake has to be reachable over a socket while its state stays in, and
inspectable from, the test process. Responses follow Slack's real shapes and error codes closely
enough that slack_sdk's ``WebClient`` (pagination, retry handlers, ``SlackApiError``) behaves
exactly as it does in production.

Socket Mode too: after ``add_app_token("xapp-1")``, ``apps.connections.open`` hands out a
``ws://`` URL on the same server, and ``socket_send``, ``socket_acks`` and ``socket_disconnect``
play Slack's side of the WebSocket (see tests/test_socket_mode.py).

As strict as Slack where the app depends on it: a bot token has manifest.yml's scopes
(sent back in ``X-OAuth-Scopes``; others answer ``missing_scope``), Slack's rate-limit tiers
are on (``rate_limit_scale`` speeds them up), Block Kit limits (blocks, elements, options,
views; a block_id once per message or view, an action_id once per block), response_url (5 posts, 30 minutes) and trigger_id (once, 3 seconds) limits hold,
``conversations.open`` takes at most 8 people of one organisation, OAuth installs may come from an Enterprise Grid org, and with
``token_lifetime`` set tokens expire and are refreshed with ``grant_type=refresh_token``.

Typical pytest use (the ``with`` block stops the server even when the test fails)::

    import pytest
    from bot.sandbox.slack import SlackDouble

    @pytest.fixture
    def slack(monkeypatch):
        with SlackDouble() as double:
            double.add_team("T1", name="Acme", bot_token="xoxb-T1")
            double.add_user("T1", "U1", real_name="Ada Lovelace", email="ada@acme.test")
            double.add_channel("T1", "C1", "lunch", members=["U1", "UBOT"])
            monkeypatch.setenv("SLACK_API_URL", double.api_url)
            yield double

    def test_posts_intro(slack):
        ...  # drive the app
        assert slack.calls("chat.postMessage")[0].args["channel"] == "C1"
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import json
import math
import re
import socket
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.common.config import BOT_SCOPES

# Arguments that slack_sdk sends as JSON strings inside form bodies.
JSON_ARGS = ("blocks", "view", "attachments", "metadata")


# What an install grants: the bot scopes manifest.yml asks for, which tests/test_manifest.py
# keeps equal to the app's own BOT_SCOPES.
MANIFEST_SCOPES = BOT_SCOPES
DEFAULT_SCOPE = ",".join(MANIFEST_SCOPES)
# Which bot scopes let a method through (any one of them), as Slack's method pages list them.
# Methods on a conversation need the scope of its kind; see _accepted_scopes.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "users.list": ("users:read",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "users.profile.get": ("users.profile:read",),
    "team.info": ("team:read",),
    "team.profile.get": ("users.profile:read",),
    "conversations.list": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.join": ("channels:join",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
MAX_FILE_BYTES = 1024**3  # files.getUploadURLExternal: at most 1 GB
# Per kind of conversation: (read scope, history scope).
KIND_SCOPES = {
    "public_channel": ("channels:read", "channels:history"),
    "private_channel": ("groups:read", "groups:history"),
    "im": ("im:read", "im:history"),
    "mpim": ("mpim:read", "mpim:history"),
}
# Block Kit and message limits Slack enforces.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 40000
MAX_CONVERSATION_USERS = 8
# A response_url takes 5 posts within 30 minutes; a trigger_id is good once, for 3 seconds.
RESPONSE_URL_POSTS = 5
RESPONSE_URL_SECONDS = 30 * 60
TRIGGER_SECONDS = 3.0
# Published per-minute tiers, for `apply_slack_tiers()`; chat.postMessage is per channel.
SLACK_TIERS: dict[str, float] = {
    "users.list": 20,
    "users.info": 100,
    "users.lookupByEmail": 50,
    "users.profile.get": 100,
    "team.info": 50,
    "team.profile.get": 50,
    "conversations.list": 20,
    "conversations.members": 100,
    "conversations.info": 50,
    "conversations.join": 50,
    "conversations.open": 50,
    "chat.postEphemeral": 100,
    "chat.update": 50,
    "chat.delete": 50,
    "views.publish": 100,
    "views.open": 100,
    "views.update": 100,
    "views.push": 100,
    "files.getUploadURLExternal": 100,
    "files.completeUploadExternal": 100,
}
_NO_AUTH = {"oauth.v2.access", "api.test"}
_ORG_ERRORS = {"missing_argument", "team_access_not_granted"}
# Methods whose docs say team_id is "required if org token is used": an org-wide install's
# token reaches many workspaces, and these would not know which one to list.
_ORG_NEEDS_TEAM = {"users.list", "conversations.list", "team.profile.get"}
_APP_TOKEN_METHODS = {"apps.connections.open"}  # app-level (xapp-) tokens only
_METHOD_RE = re.compile(r"^[a-zA-Z]+(\.[a-zA-Z0-9]+)+$")


@dataclass(frozen=True)
class SharedFile:
    """A file uploaded with files.getUploadURLExternal, its bytes and where it was shared."""

    id: str
    filename: str
    title: str | None
    data: bytes
    channel: str | None
    initial_comment: str | None


@dataclass(frozen=True)
class Call:
    """One Web API request as the double saw it (including failed and rejected ones)."""

    method: str
    args: dict[str, Any]
    token: str | None
    team_id: str | None
    time: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Message:
    """A posted message in its current state (updates applied, deletions removed)."""

    channel: str
    ts: str
    text: str
    blocks: list | None
    user: str
    team_id: str
    thread_ts: str | None = None
    to_user: str | None = None  # set for ephemeral messages
    metadata: dict | None = None  # chat.postMessage's `metadata` (event_type, event_payload)


@dataclass
class _User:
    id: str
    team_id: str
    name: str
    real_name: str
    display_name: str = ""
    tz: str | None = "Europe/Berlin"
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    email: str | None = None
    title: str = ""
    profile_fields: dict[str, Any] = field(default_factory=dict)
    # Someone from another organisation (Slack Connect): their home team, whether this
    # workspace's bot may see them at all, and whether Slack calls them a stranger (they
    # share no workspace with this one).
    home_team: str | None = None
    visible: bool = True
    is_stranger: bool = False


@dataclass
class _Channel:
    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class _Team:
    id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    users: dict[str, _User] = field(default_factory=dict)
    channels: dict[str, _Channel] = field(default_factory=dict)
    profile_fields: list[dict] = field(default_factory=list)
    conversations: dict[frozenset, str] = field(default_factory=dict)
    enterprise_id: str | None = None  # the Enterprise Grid org, if any
    enterprise_name: str | None = None
    scopes: frozenset[str] = frozenset(MANIFEST_SCOPES)  # granted to the bot token


@dataclass
class _Limit:
    per_minute: float
    burst: float | None
    tokens: dict[tuple, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error = error
        self.extra = extra


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


class _Server(ThreadingHTTPServer):
    """A client that hangs up before its answer (a process stopped mid-call) is no error of
    the double's: Slack does not complain of it either, so nothing is printed."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SlackDouble:
    """The fake workspace(s) plus the HTTP server that exposes them."""

    def __init__(self, host: str = "127.0.0.1", rate_tiers: bool = True):
        self.host = host
        self.max_page_size: int | None = None  # cap on every page, to force multi-page walks
        self.latency = 0.0  # seconds slept before answering each API call
        # method -> [seconds, calls left]: answer late *after* the call took effect, like a
        # response lost on the way back (see slow_next)
        self._slow: dict[str, list] = {}
        self.rate_limit_scale = 1.0  # multiplies every configured per-minute rate (and burst)
        self.enforce_membership = True  # chat.postMessage to a channel without the bot fails
        self.user_objects_include_fields = True  # custom fields in users.info/users.list too
        self.app_id = "A1"
        self.oauth_client_id: str | None = None  # None accepts any client id/secret
        self.oauth_client_secret: str | None = None
        # Largest conversations.history page accepted (None: Slack's usual 999).
        self.history_limit_max: int | None = None
        self._refused_dms: dict[tuple[str, str], str] = {}  # (team, user) -> error code
        self._lock = threading.RLock()
        self._teams: dict[str, _Team] = {}
        self._tokens: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._calls: list[Call] = []
        self._messages: list[Message] = []
        self._uploads: dict[str, dict] = {}  # file id -> what files.getUploadURLExternal said
        self._files: list[SharedFile] = []
        self._ephemerals: list[Message] = []
        self._views: dict[str, dict] = {}
        self._home: dict[tuple[str, str], str] = {}
        self._failures: list[dict] = []
        self._fail_after: dict[str, list] = {}
        self._limits: dict[tuple[str, bool], _Limit] = {}
        self._responses: list[tuple[str, Any]] = []
        self._response_ids: dict[str, list] = {}  # id -> [issued at, posts so far]
        self._triggers: dict[str, float | None] = {}  # trigger_id -> issued at; None once used
        # Token rotation: with token_lifetime set, OAuth installs get expiring tokens.
        self.token_lifetime: int | None = None
        self._token_expiry: dict[str, float] = {}  # access token -> expires at (time.time())
        self._refresh_tokens: dict[str, str] = {}  # unused refresh token -> team id
        self._oauth_codes: dict[str, dict] = {}
        self._used_codes: set[str] = set()
        self._app_tokens: dict[str, str | None] = {}  # app-level token -> team id
        self._org_tokens: dict[str, str] = {}  # an org-wide install's bot token -> org id
        self._org_access: dict[str, set[str]] = {}  # org id -> workspaces the app was added to
        self._tickets: dict[str, str] = {}  # unused WebSocket URL ticket -> app-level token
        self._links: list[_SocketLink] = []
        self._socket_acks: list[dict] = []
        self._last_ts = 0.0
        self._seq = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if rate_tiers:  # like Slack; tests that need speed scale them up (rate_limit_scale)
            self.apply_slack_tiers()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackDouble:
        if self._server is None:
            server = _Server((self.host, 0), _Handler)
            server.daemon_threads = True
            server.double = self  # type: ignore[attr-defined]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            links = [link for link in self._links if link.closed is None]
        for link in links:
            link.close(1001, "going away")
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackDouble is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        """Value for WebClient(base_url=...) / SLACK_API_URL."""
        return f"{self.url}api/"

    # -- workspace setup -------------------------------------------------------------------------

    def add_team(
        self,
        team_id: str = "T1",
        name: str = "Acme",
        bot_token: str | None = None,
        bot_user_id: str = "UBOT",
        domain: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        scopes: str | list[str] | None = None,
    ) -> None:
        """A workspace (in Enterprise Grid org ``enterprise_id`` if given) whose bot token has
        ``scopes`` (default: manifest.yml's bot scopes)."""
        token = bot_token or f"xoxb-{team_id}"
        with self._lock:
            team = _Team(
                id=team_id,
                name=name,
                domain=domain or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
                bot_token=token,
                bot_user_id=bot_user_id,
                bot_id=bot_id or f"B{team_id}",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name or (enterprise_id and f"Org {enterprise_id}"),
            )
            if scopes is not None:
                team.scopes = frozenset(_ids(scopes))
            self._teams[team_id] = team
            self._tokens[token] = team_id
            self._revoked.discard(token)
            slackbot = _User("USLACKBOT", team_id, "slackbot", "Slackbot", "Slackbot")
            slackbot.tz = "America/Los_Angeles"
            team.users["USLACKBOT"] = slackbot
            bot = _User(bot_user_id, team_id, "worth_knowing", "Worth Knowing", is_bot=True)
            bot.tz = "America/Los_Angeles"
            team.users[bot_user_id] = bot

    def grant_scopes(self, team_id: str, *scopes: str) -> None:
        """Add scopes to what the team's bot token was granted."""
        with self._lock:
            team = self._team(team_id)
            team.scopes = team.scopes | set(scopes)

    def withdraw_scopes(self, team_id: str, *scopes: str) -> None:
        """Take scopes away, as an install made before the app asked for them has none."""
        with self._lock:
            team = self._team(team_id)
            team.scopes = team.scopes - set(scopes)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)
            self._app_tokens.pop(token, None)
            self._org_tokens.pop(token, None)
            self._revoked.add(token)

    def grant_org_access(self, enterprise_id: str, *team_ids: str) -> None:
        """An org admin adds an org-wide installed app to these workspaces of the org: its
        one token then works in them, as in the first workspace its install named."""
        with self._lock:
            for team_id in team_ids:
                if self._team(team_id).enterprise_id != enterprise_id:
                    raise ValueError(f"{team_id} is not a workspace of {enterprise_id}")
            self._org_access.setdefault(enterprise_id, set()).update(team_ids)

    def revoke_org_access(self, enterprise_id: str, *team_ids: str) -> None:
        """An org admin removes the org-wide app from these workspaces."""
        with self._lock:
            self._org_access.get(enterprise_id, set()).difference_update(team_ids)

    def add_user(
        self,
        team_id: str,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        tz: str | None = "Europe/Berlin",
        is_bot: bool = False,
        deleted: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        email: str | None = None,
        title: str = "",
        profile_fields: dict[str, Any] | None = None,
        display_name: str = "",
        home_team: str | None = None,
        is_stranger: bool = False,
        tz_known_here: bool = True,
    ) -> None:
        """A person visible in `team_id`. With `home_team` they belong to another organisation
        (Slack Connect): their user object carries that team's id, and `is_stranger` when
        they share no workspace with this one. `tz_known_here=False`: a zone this machine's
        tz database does not know (Slack's may be newer), so it is not checked."""
        if tz is not None and tz_known_here:
            ZoneInfo(tz)  # fail at setup, not inside a request
        name = name or user_id.lower()
        user = _User(
            user_id,
            team_id,
            name,
            real_name if real_name is not None else name.title(),
            display_name,
            tz,
            is_bot,
            deleted,
            is_restricted,
            is_ultra_restricted,
            is_admin,
            is_owner,
            email,
            title,
            dict(profile_fields or {}),
            home_team=home_team,
            is_stranger=is_stranger,
        )
        with self._lock:
            self._team(team_id).users[user_id] = user

    def update_user(self, team_id: str, user_id: str, **changes: Any) -> None:
        """Change user attributes; ``profile_fields`` merges (a None value removes a field)."""
        with self._lock:
            user = self._team(team_id).users[user_id]
            for key, value in changes.items():
                if key == "profile_fields":
                    for fid, fval in value.items():
                        if fval is None:
                            user.profile_fields.pop(fid, None)
                        else:
                            user.profile_fields[fid] = fval
                elif not hasattr(user, key) or key in ("id", "team_id"):
                    raise TypeError(f"unknown user attribute {key!r}")
                else:
                    if key == "tz" and value is not None:
                        ZoneInfo(value)
                    setattr(user, key, value)

    def remove_user(self, team_id: str, user_id: str) -> None:
        """Someone Slack no longer knows in `team_id`: users.info answers user_not_found."""
        with self._lock:
            del self._team(team_id).users[user_id]

    def set_profile_fields(self, team_id: str, fields: list[dict]) -> None:
        """Define the team's custom profile fields, e.g. [{"id": "Xf1", "label": "Grade"}]."""
        defaults = {
            "hint": "",
            "type": "text",
            "possible_values": None,
            "options": None,
            "is_hidden": False,
            "section_id": "S1",
        }
        with self._lock:
            self._team(team_id).profile_fields = [
                {**defaults, "ordering": i, **f} for i, f in enumerate(fields)
            ]

    def add_channel(
        self,
        team_id: str,
        channel_id: str,
        name: str,
        members: list[str] | tuple[str, ...] = (),
        is_private: bool = False,
    ) -> None:
        with self._lock:
            self._team(team_id).channels[channel_id] = _Channel(
                channel_id, name, list(dict.fromkeys(members)), is_private
            )

    def add_member(self, team_id: str, channel_id: str, user_id: str) -> None:
        with self._lock:
            members = self._team(team_id).channels[channel_id].members
            if user_id not in members:
                members.append(user_id)

    def remove_member(self, team_id: str, channel_id: str, user_id: str) -> None:
        with self._lock:
            members = self._team(team_id).channels[channel_id].members
            if user_id in members:
                members.remove(user_id)

    def register_oauth_code(
        self,
        code: str,
        team_id: str,
        bot_token: str,
        bot_user_id: str = "UBOT",
        authed_user_id: str = "U1",
        scope: str = DEFAULT_SCOPE,
        team_name: str | None = None,
        redirect_uri: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        is_enterprise_install: bool = False,
    ) -> None:
        """Make ``code`` exchangeable once via oauth.v2.access; the token works afterwards.

        ``enterprise_id`` installs a workspace of an Enterprise Grid org; with
        ``is_enterprise_install`` the install is org-wide: the answer names no team, and the
        token works in ``team_id`` and in each workspace ``grant_org_access`` adds. With
        ``token_lifetime`` set the token expires and comes with a refresh token.
        """
        if is_enterprise_install and not enterprise_id:
            raise ValueError("an org-wide install needs the org's enterprise_id")
        with self._lock:
            self._oauth_codes[code] = dict(
                team_id=team_id,
                bot_token=bot_token,
                bot_user_id=bot_user_id,
                authed_user_id=authed_user_id,
                scope=scope,
                redirect_uri=redirect_uri,
                team_name=team_name or f"Team {team_id}",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name,
                is_enterprise_install=is_enterprise_install,
            )

    # -- failures and rate limits ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" = any) with a failure.

        With ``error`` the answer is HTTP 200 ``{"ok": false, "error": error}``; otherwise HTTP
        ``status`` (429 carries ``Retry-After: retry_after``).
        """
        with self._lock:
            self._failures.append(
                dict(method=method, status=status, retry_after=retry_after, left=count, error=error)
            )

    def refuse_dms(self, team_id: str, user_id: str, error: str = "user_not_visible") -> None:
        """conversations.open (and a DM by user id) with this person fails with ``error``, as
        for someone outside the workspace who shares no channel with the app
        (``user_not_visible``, ``invalid_user_combination``)."""
        with self._lock:
            self._refused_dms[(team_id, user_id)] = error

    def as_unlisted_app(self) -> None:
        """An app distributed outside the Marketplace, created after 29 May 2025:
        conversations.history at 1 request a minute (times ``rate_limit_scale``), and a
        ``limit`` over 15 refused."""
        with self._lock:
            self.history_limit_max = 15
            self._limits[("conversations.history", False)] = _Limit(1, 1e-9)  # no burst

    def set_rate_limit(
        self, method: str, per_minute: float, burst: float | None = None, per_channel: bool = False
    ) -> None:
        """Token bucket per (team, method), or per (team, method, channel) with ``per_channel``.

        ``burst`` defaults to one second's worth of calls (at least 1).
        """
        with self._lock:
            self._limits[(method, per_channel)] = _Limit(per_minute, burst)

    def apply_slack_tiers(self, scale: float = 1.0) -> None:
        """Install Slack's published tiers (postMessage: 1/s per channel); ``scale`` speeds up."""
        with self._lock:
            self.rate_limit_scale = scale
            for method, per_minute in SLACK_TIERS.items():
                self.set_rate_limit(method, per_minute)
            self.set_rate_limit("chat.postMessage", 60, burst=1, per_channel=True)

    def clear_rate_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    # -- response_url ----------------------------------------------------------------------------

    def new_response_url(self) -> str:
        """A response_url as Slack hands out: good for 5 posts within 30 minutes."""
        rid = uuid.uuid4().hex
        with self._lock:
            self._response_ids[rid] = [time.time(), 0]
        return f"{self.url}response/{rid}"

    def new_trigger_id(self) -> str:
        """A trigger_id as Slack puts in an interaction: opens one view, within 3 seconds."""
        tid = f"{int(time.time())}.{self._seq + 1}.{uuid.uuid4().hex}"
        with self._lock:
            self._seq += 1
            self._triggers[tid] = time.time()
        return tid

    def responses(self, response_url: str | None = None) -> list[Any]:
        """JSON bodies posted to one response_url (id or full URL), or to all of them."""
        rid = response_url.rstrip("/").rsplit("/", 1)[-1] if response_url else None
        with self._lock:
            return [body for r, body in self._responses if rid is None or r == rid]

    # -- Socket Mode -----------------------------------------------------------------------------
    # apps.connections.open hands out a one-use ws:// URL on this server (/link/?ticket=…); the
    # app opens a WebSocket there, gets a "hello", and from then on the double pushes envelopes
    # and the app acknowledges each with its envelope_id. The framing is in _SocketLink below.

    def add_app_token(self, token: str, team_id: str | None = "T1") -> None:
        """An app-level token (xapp-…, connections:write): the only kind that may call
        apps.connections.open; ``team_id`` is recorded on its calls."""
        with self._lock:
            self._app_tokens[token] = team_id
            self._revoked.discard(token)

    def socket_connections(self) -> list[SocketConnection]:
        """Every WebSocket the app has opened, oldest first, open or closed."""
        with self._lock:
            return [link.snapshot() for link in self._links]

    def socket_send(
        self,
        kind: str,
        payload: dict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push an envelope ("slash_commands", "interactive", "events_api") down the newest
        open connection, as Slack does; returns its envelope_id (see ``socket_acks``)."""
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:  # Slack takes no response payload for events
            accepts_response_payload = kind != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        if not self._live_link().send_json(envelope):
            raise RuntimeError("the Socket Mode connection closed while sending")
        return envelope_id

    def socket_acks(self, envelope_id: str | None = None) -> list[dict]:
        """What the app sent back for one envelope (or everything it sent), in order of
        arrival, e.g. ``{"envelope_id": ..., "payload": {"text": ...}}``."""
        with self._lock:
            return [
                json.loads(json.dumps(m))
                for m in self._socket_acks
                if envelope_id is None or m.get("envelope_id") == envelope_id
            ]

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the app to move to a new connection, as Slack does before recycling one. The
        old connection gets no more envelopes, and is closed once the app has opened another."""
        link = self._live_link()
        with self._lock:
            link.retiring = True
        debug_info = {"host": f"{self.host}:{self.port}"}
        link.send_json({"type": "disconnect", "reason": reason, "debug_info": debug_info})

    def _live_link(self) -> _SocketLink:
        with self._lock:
            live = [link for link in self._links if link.closed is None and not link.retiring]
        if not live:
            raise RuntimeError("no open Socket Mode connection: has the app connected?")
        return live[-1]

    def _socket_message(self, text: str) -> None:
        message = json.loads(text)
        if not isinstance(message, dict):
            raise ValueError("a Socket Mode message must be a JSON object")
        with self._lock:
            self._socket_acks.append(message)

    def _serve_socket_link(self, handler: _Handler) -> None:
        """GET /link/?ticket=…: the WebSocket handshake, then the connection until it ends."""
        headers = handler.headers
        key = headers.get("Sec-WebSocket-Key", "").strip()
        if (
            headers.get("Upgrade", "").lower() != "websocket"
            or "upgrade" not in headers.get("Connection", "").lower()
            or headers.get("Sec-WebSocket-Version", "").strip() != "13"
            or not key
        ):
            handler._reply(400, {}, {"ok": False, "error": "websocket_upgrade_required"})
            return
        ticket = parse_qs(urlsplit(handler.path).query).get("ticket", [""])[-1]
        with self._lock:
            app_token = self._tickets.pop(ticket, None)  # one connection per URL
            if app_token not in self._app_tokens:  # unknown ticket, or the token was revoked
                app_token = None
        if app_token is None:
            handler._reply(401, {}, {"ok": False, "error": "invalid_ticket"})
            return
        digest = hashlib.sha1((key + _WS_GUID).encode()).digest()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", base64.b64encode(digest).decode())
        handler.end_headers()
        handler.close_connection = True
        handler.connection.settimeout(None)  # a quiet connection is fine; stop() ends it
        link = _SocketLink(self, handler.connection, handler.rfile, app_token)
        with link.send_lock:  # "hello" goes first: an envelope sent meanwhile waits for it
            with self._lock:
                self._links.append(link)
                live = sum(1 for other in self._links if other.closed is None)
                replaced = [
                    old
                    for old in self._links
                    if old.retiring and old.closed is None and old.app_token == app_token
                ]
            link.send_json(
                {
                    "type": "hello",
                    "num_connections": live,
                    "debug_info": {"host": f"{self.host}:{self.port}", "build_number": 1},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            link.send_frame(_OP_PING, b"slack-double")  # the app must answer with a pong
        for old in replaced:  # like Slack, drop a recycled connection once its successor is up
            old.close(1000, "replaced")
        link.run()

    # -- inspection ------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._responses.clear()

    def files(self, channel: str | None = None) -> list[SharedFile]:
        """Files shared by files.completeUploadExternal (to `channel`, if given)."""
        with self._lock:
            return [f for f in self._files if channel in (None, f.channel)]

    def messages(self, channel: str | None = None) -> list[Message]:
        with self._lock:
            return [replace(m) for m in self._messages if channel in (None, m.channel)]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Message]:
        with self._lock:
            return [
                replace(m)
                for m in self._ephemerals
                if channel in (None, m.channel) and user in (None, m.to_user)
            ]

    def home_view(self, team_id: str, user_id: str) -> dict | None:
        """The App Home view last published for a user."""
        with self._lock:
            vid = self._home.get((team_id, user_id))
            return json.loads(json.dumps(self._views[vid])) if vid else None

    def views(self, type: str | None = None) -> list[dict]:
        """Every view opened, pushed or published, in its current state."""
        with self._lock:
            return [
                json.loads(json.dumps(v)) for v in self._views.values() if type in (None, v["type"])
            ]

    def conversation_id(self, team_id: str, user_ids: list[str]) -> str | None:
        """The IM/MPIM id conversations.open returned for these users, if it was opened."""
        with self._lock:
            team = self._team(team_id)
            return team.conversations.get(frozenset(user_ids) | {team.bot_user_id})

    def dm_members(self, team_id: str, conversation: str) -> list[str]:
        """The people (not the app) of an IM/MPIM that conversations.open returned."""
        with self._lock:
            team = self._team(team_id)
            (users,) = [u for u, c in team.conversations.items() if c == conversation]
            return sorted(users - {team.bot_user_id})

    def channel_members(self, team_id: str, channel_id: str) -> list[str]:
        with self._lock:
            return list(self._team(team_id).channels[channel_id].members)

    # -- request plumbing ------------------------------------------------------------------------

    def _team(self, team_id: str) -> _Team:
        try:
            return self._teams[team_id]
        except KeyError:
            raise KeyError(f"unknown team {team_id!r}; call add_team() first") from None

    def _handle_api(
        self, method: str, args: dict, token: str | None, basic: tuple[str, str] | None
    ) -> tuple[int, dict, dict]:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            team_id = (self._tokens.get(token) or self._app_tokens.get(token)) if token else None
            org = self._org_tokens.get(token) if token else None
            if org is not None:
                team_id = self._org_workspace(org, method, args)
            status, headers, body = self._dispatch(method, args, token, basic, team_id)
            self._calls.append(
                Call(
                    method,
                    args,
                    token,
                    team_id,
                    time.time(),
                    status,
                    None if body.get("ok") else body.get("error"),
                )
            )
            slow = self._slow.get(method)
            delay = 0.0
            if slow and slow[1] > 0:
                delay, slow[1] = slow[0], slow[1] - 1
        if delay:
            time.sleep(delay)
        return status, headers, body

    def fail_after_next(self, method: str, status: int = 500, count: int = 1) -> None:
        """Carry out the next ``count`` calls of ``method``, then answer HTTP ``status``
        anyway (a reply lost after Slack acted, as a 5xx from a proxy can be)."""
        with self._lock:
            self._fail_after[method] = [status, count]

    def slow_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Hold back the answer to the next `count` calls of `method` after they took effect."""
        with self._lock:
            self._slow[method] = [seconds, count]

    def _dispatch(self, method, args, token, basic, team_id) -> tuple[int, dict, dict]:
        for failure in self._failures:
            if failure["method"] in (method, "*"):
                failure["left"] -= 1
                if failure["left"] <= 0:
                    self._failures.remove(failure)
                if failure["error"]:
                    return 200, {}, {"ok": False, "error": failure["error"]}
                if failure["status"] == 429:
                    headers = {"Retry-After": str(failure["retry_after"])}
                    return 429, headers, {"ok": False, "error": "ratelimited"}
                return failure["status"], {}, {"ok": False, "error": "fatal_error"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if not _METHOD_RE.match(method) or handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        team = None
        app_method = method in _APP_TOKEN_METHODS
        if method not in _NO_AUTH:
            if not token:
                return 200, {}, {"ok": False, "error": "not_authed"}
            if token in self._revoked:
                return 200, {}, {"ok": False, "error": "token_revoked"}
            wrong_kind = self._tokens if app_method else self._app_tokens
            if token in wrong_kind:
                return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
            if (token not in self._app_tokens) if app_method else (team_id is None):
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            if team_id in _ORG_ERRORS:  # an org token that could not name a workspace
                return 200, {}, {"ok": False, "error": team_id}
            if token in self._token_expiry and time.time() >= self._token_expiry[token]:
                return 200, {}, {"ok": False, "error": "token_expired"}
            if not app_method:
                team = self._teams[team_id]
                wait = self._rate_wait(team.id, method, args)
                if wait:
                    return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
        headers: dict[str, str] = {}
        try:
            if team is not None:
                headers = self._scope_headers(team, method, args)
                self._require_scopes(team, headers)
            if method in _NO_AUTH:
                result = handler(team, args, basic)
            else:
                result = handler(token, args) if app_method else handler(team, args)
            if method == "auth.test" and token in self._org_tokens:
                # an org-wide token names the org, not a workspace
                result.update(team=team.enterprise_name, team_id=team.enterprise_id,
                              url=f"https://{team.enterprise_id.lower()}.enterprise.slack.com/",
                              is_enterprise_install=True)  # fmt: skip
        except _ApiError as e:
            return 200, headers, {"ok": False, "error": e.error, **e.extra}
        with self._lock:
            after = self._fail_after.get(method)
            if after:
                after[1] -= 1
                if after[1] <= 0:
                    del self._fail_after[method]
                return after[0], {}, {"ok": False, "error": "fatal_error"}
        return 200, headers, {"ok": True, **result}

    def _org_workspace(self, enterprise_id: str, method: str, args: dict) -> str:
        """The workspace an org-wide token acts in: the team_id it names, else the one that
        holds the channel or the people it names; or the error Slack gives."""
        granted = [self._teams[t] for t in sorted(self._org_access.get(enterprise_id, ()))]
        named = str(args.get("team_id") or "")
        if named:
            return named if any(t.id == named for t in granted) else "team_access_not_granted"
        if method in _ORG_NEEDS_TEAM:
            return "missing_argument"
        if not granted:
            return "team_access_not_granted"
        for key in ("channel", "channel_id", "user", "user_id", "users"):
            ids = _ids(args.get(key))
            for team in granted:
                if ids and all(i in team.channels or i in team.users for i in ids):
                    return team.id
        return granted[0].id  # Slack then finds no such channel or person there

    def _scope_headers(self, team: _Team, method: str, args: dict) -> dict[str, str]:
        """As Slack answers: the token's scopes, and the ones the method accepts."""
        accepted = self._accepted_scopes(team, method, args)
        return {
            "X-OAuth-Scopes": ",".join(sorted(team.scopes)),
            "X-Accepted-OAuth-Scopes": ",".join(accepted),
        }

    @staticmethod
    def _require_scopes(team: _Team, headers: dict[str, str]) -> None:
        """missing_scope unless one of the method's scopes was granted."""
        accepted = _ids(headers["X-Accepted-OAuth-Scopes"])
        if accepted and not team.scopes.intersection(accepted):
            raise _ApiError(
                "missing_scope", needed=",".join(accepted), provided=headers["X-OAuth-Scopes"]
            )

    def _accepted_scopes(self, team: _Team, method: str, args: dict) -> tuple[str, ...]:
        if method in METHOD_SCOPES:
            return METHOD_SCOPES[method]
        if method == "conversations.open":
            if args.get("channel"):
                kind = self._kind_of(team.channels.get(str(args["channel"])))
                return ("im:write",) if kind == "im" else ("mpim:write",)
            return ("im:write",) if len(set(_ids(args.get("users")))) <= 1 else ("mpim:write",)
        history = method in ("conversations.history", "conversations.replies")
        if method in ("conversations.info", "conversations.members") or history:
            channel = team.channels.get(str(args.get("channel") or ""))
            if channel is None:
                return ()  # the method answers channel_not_found
            return (KIND_SCOPES[self._kind_of(channel)][1 if history else 0],)
        return ()  # auth.test, views.*: no scope needed

    @staticmethod
    def _kind_of(ch: _Channel | None) -> str:
        if ch is None:
            return "public_channel"
        if ch.is_im:
            return "im"
        if ch.is_mpim:
            return "mpim"
        return "private_channel" if ch.is_private else "public_channel"

    def _rate_wait(self, team_id: str, method: str, args: dict) -> int:
        """0 if the call may proceed (consuming a token everywhere), else whole seconds to wait."""
        now = time.monotonic()
        scale = self.rate_limit_scale
        buckets = []
        for per_channel in (False, True):
            limit = self._limits.get((method, per_channel))
            if limit is None:
                continue
            rate = limit.per_minute * scale / 60.0
            cap = max(1.0, limit.burst * scale if limit.burst else math.ceil(rate))
            key = (team_id, str(args.get("channel", ""))) if per_channel else (team_id,)
            tokens, at = limit.tokens.get(key, (cap, now))
            # max(): a test's freezegun may move the clock backwards
            tokens = min(cap, tokens + max(0.0, now - at) * rate)
            buckets.append((limit, key, tokens, rate))
        waits = [(1.0 - tokens) / rate for _, _, tokens, rate in buckets if tokens < 1.0]
        if waits:
            for limit, key, tokens, _ in buckets:
                limit.tokens[key] = (tokens, now)
            return max(1, math.ceil(max(waits)))
        for limit, key, tokens, _ in buckets:
            limit.tokens[key] = (tokens - 1.0, now)
        return 0

    def _handle_response_url(self, rid: str, raw: bytes) -> tuple[int, dict, Any]:
        with self._lock:
            hook = self._response_ids.get(rid)
            if hook is None:
                return 404, {}, {"ok": False, "error": "no_active_hooks"}
            if time.time() - hook[0] > RESPONSE_URL_SECONDS:
                return 404, {}, {"ok": False, "error": "expired_url"}
            if hook[1] >= RESPONSE_URL_POSTS:
                return 404, {}, {"ok": False, "error": "used_url"}
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return 400, {}, {"ok": False, "error": "invalid_payload"}
            try:  # the same limits as a message posted any other way
                self._content(body if isinstance(body, dict) else {}, required=False)
            except _ApiError as error:
                return 400, {}, {"ok": False, "error": error.error, **error.extra}
            hook[1] += 1
            self._responses.append((rid, body))
        return 200, {}, {"ok": True}

    def _next_ts(self) -> str:
        ts = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = ts
        return f"{ts:.6f}"

    def _new_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    # -- rendering -------------------------------------------------------------------------------

    def _user_json(self, team: _Team, u: _User, with_fields: bool | None = None) -> dict:
        profile: dict[str, Any] = {
            "real_name": u.real_name,
            "real_name_normalized": u.real_name,
            "display_name": u.display_name,
            "display_name_normalized": u.display_name,
            "title": u.title,
            "team": u.home_team or team.id,
        }
        if u.email:
            profile["email"] = u.email
        if u.id == team.bot_user_id:
            profile["bot_id"] = team.bot_id
        if self.user_objects_include_fields if with_fields is None else with_fields:
            profile["fields"] = self._fields_json(u)
        obj: dict[str, Any] = {
            "id": u.id,
            "team_id": u.home_team or team.id,
            "name": u.name,
            "deleted": u.deleted,
            "real_name": u.real_name,
            "is_admin": u.is_admin,
            "is_owner": u.is_owner,
            "is_primary_owner": False,
            "is_restricted": u.is_restricted,
            "is_ultra_restricted": u.is_ultra_restricted,
            "is_bot": u.is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": profile,
        }
        if u.is_stranger:
            obj["is_stranger"] = True
        if u.tz:
            try:
                now = datetime.now(ZoneInfo(u.tz))
            except ZoneInfoNotFoundError:  # newer than this machine's tz database
                obj.update(tz=u.tz, tz_label=u.tz, tz_offset=0)
                return obj
            offset = now.utcoffset()
            obj.update(
                tz=u.tz,
                tz_label=now.tzname(),
                tz_offset=int(offset.total_seconds()) if offset else 0,
            )
        return obj

    @staticmethod
    def _fields_json(u: _User) -> dict:
        out = {}
        for fid, value in u.profile_fields.items():
            out[fid] = (
                {"alt": "", **value}
                if isinstance(value, dict)
                else {"value": str(value), "alt": ""}
            )
        return out

    def _channel_json(self, team: _Team, ch: _Channel) -> dict:
        if ch.is_im:
            other = next((m for m in ch.members if m != team.bot_user_id), team.bot_user_id)
            return {
                "id": ch.id,
                "created": ch.created,
                "is_im": True,
                "is_org_shared": False,
                "user": other,
                "is_user_deleted": False,
            }
        return {
            "id": ch.id,
            "name": ch.name,
            "name_normalized": ch.name,
            "is_channel": not ch.is_private and not ch.is_mpim,
            "is_group": ch.is_private and not ch.is_mpim,
            "is_im": False,
            "is_mpim": ch.is_mpim,
            "is_private": ch.is_private,
            "is_archived": False,
            "is_general": False,
            "created": ch.created,
            "creator": "",
            "is_member": team.bot_user_id in ch.members,
            "num_members": len(ch.members),
            "context_team_id": team.id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _page(self, items: list, args: dict, default_limit: int) -> tuple[list, dict]:
        try:
            limit = int(args.get("limit") or 0)
        except ValueError:
            raise _ApiError("invalid_limit") from None
        size = min(limit if limit > 0 else default_limit, 1000, self.max_page_size or 1000)
        offset = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                kind, _, num = base64.b64decode(cursor, validate=True).decode().partition(":")
                offset = int(num)
                if kind != "offset" or offset < 0:
                    raise ValueError(cursor)
            except (ValueError, binascii.Error):
                raise _ApiError("invalid_cursor") from None
        end = offset + size
        nxt = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
        return items[offset:end], {"next_cursor": nxt}

    # -- lookups ---------------------------------------------------------------------------------

    def _channel(self, team: _Team, args: dict, *, visible: bool = True) -> _Channel:
        cid = str(args.get("channel") or "")
        ch = team.channels.get(cid)
        if ch is None and cid.startswith("#"):
            ch = next((c for c in team.channels.values() if c.name == cid[1:]), None)
        if ch is None or (visible and ch.is_private and team.bot_user_id not in ch.members):
            raise _ApiError("channel_not_found")
        return ch

    def _open(self, team: _Team, user_ids: list[str]) -> tuple[_Channel, bool]:
        homes = set()
        for uid in user_ids:
            user = team.users.get(uid)
            if user is None:
                raise _ApiError("user_not_found")
            if not user.visible:
                raise _ApiError("user_not_visible")
            if user.deleted:
                raise _ApiError("user_disabled")
            refused = self._refused_dms.get((team.id, uid))
            if refused:
                raise _ApiError(refused)
            homes.add(user.home_team or team.id)
        # People of several organisations at once: Slack wants them "already in at least one
        # channel together" (a Slack Connect channel).
        together = any(
            set(user_ids) <= set(ch.members)
            for ch in team.channels.values()
            if not (ch.is_im or ch.is_mpim)
        )
        if len(homes) > 1 and len(user_ids) > 1 and not together:
            raise _ApiError("invalid_user_combination")
        key = frozenset(user_ids) | {team.bot_user_id}
        if key in team.conversations:
            return team.channels[team.conversations[key]], True
        is_im = len(key) <= 2
        cid = self._new_id("D" if is_im else "G")
        name = cid if is_im else "mpdm-" + "--".join(sorted(team.users[u].name for u in key)) + "-1"
        ch = _Channel(cid, name, sorted(key), is_private=True, is_im=is_im, is_mpim=not is_im)
        team.channels[cid] = ch
        team.conversations[key] = cid
        return ch, False

    def _post_target(self, team: _Team, args: dict) -> _Channel:
        cid = str(args.get("channel") or "")
        if not cid:
            raise _ApiError("channel_not_found")
        if cid in team.users:
            return self._open(team, [cid])[0]
        ch = self._channel(team, args)
        if self.enforce_membership and team.bot_user_id not in ch.members:
            raise _ApiError("not_in_channel")
        return ch

    @staticmethod
    def _content(args: dict, required: bool = True) -> tuple[str, list | None]:
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            raise _ApiError("invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise _ApiError("invalid_blocks")
        if blocks:
            problems = _block_problems(blocks, MAX_MESSAGE_BLOCKS)
            if problems:
                raise _ApiError("invalid_blocks", response_metadata={"messages": problems})
        text = str(args.get("text") or "")
        if len(text) > MAX_MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        if required and not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        return text, blocks

    def _find_message(self, team: _Team, args: dict) -> Message:
        ch = self._channel(team, args)
        ts = str(args.get("ts") or "")
        for m in self._messages:
            if m.team_id == team.id and m.channel == ch.id and m.ts == ts:
                return m
        raise _ApiError("message_not_found")

    @staticmethod
    def _view_arg(args: dict) -> dict:
        view = args.get("view")
        if isinstance(view, str):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["bad view"]})
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        blocks = view.get("blocks", [])
        problems = _block_problems(blocks, MAX_VIEW_BLOCKS, "/view/blocks")
        problems += _too_long(view, _LONGEST["view"], "/view")
        if problems:  # Slack answers a view that breaks Block Kit's rules this way
            raise _ApiError("invalid_arguments", response_metadata={"messages": problems})
        return view

    def _store_view(self, team: _Team, view: dict, vid: str | None = None, **extra) -> dict:
        vid = vid or self._new_id("V")
        stored = {
            "id": vid,
            "team_id": team.id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:20],
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "app_id": self.app_id,
            "bot_id": team.bot_id,
            "root_view_id": vid,
            "previous_view_id": None,
            "clear_on_close": False,
            "notify_on_close": False,
            **extra,
        }
        self._views[vid] = stored
        return json.loads(json.dumps(stored))

    # -- Web API methods -------------------------------------------------------------------------

    def _api_api_test(self, team, args, basic):
        return {"args": {k: v for k, v in args.items() if k != "token"}}

    def _api_auth_test(self, team, args):
        bot = team.users[team.bot_user_id]
        return {
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": bot.name,
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
            "is_enterprise_install": False,
        }

    def _api_users_list(self, team, args):
        # the workspace's own people: not those of another organisation in a shared channel
        own = [u for u in team.users.values() if not u.home_team or u.home_team == team.id]
        users = [self._user_json(team, u) for u in own]
        page, meta = self._page(users, args, 1000)
        return {"members": page, "cache_ts": int(time.time()), "response_metadata": meta}

    def _api_users_info(self, team, args):
        user = team.users.get(str(args.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        if not user.visible:  # of another organisation, no longer shared with this one
            raise _ApiError("user_not_visible")
        return {"user": self._user_json(team, user)}

    def _api_users_lookupByEmail(self, team, args):
        email_addr = str(args.get("email") or "").lower()
        for user in team.users.values():
            if user.email and user.email.lower() == email_addr and not user.deleted:
                return {"user": self._user_json(team, user)}
        raise _ApiError("users_not_found")

    def _api_users_profile_get(self, team, args):
        user = team.users.get(str(args.get("user") or team.bot_user_id))
        if user is None:
            raise _ApiError("user_not_found")
        if not user.visible:
            raise _ApiError("user_not_visible")
        profile = self._user_json(team, user, with_fields=True)["profile"]
        if _flag(args.get("include_labels")):
            labels = {f["id"]: f.get("label", "") for f in team.profile_fields}
            for fid, value in profile["fields"].items():
                value["label"] = labels.get(fid, "")
        return {"profile": profile}

    def _api_team_info(self, team, args):
        return {
            "team": {
                "id": team.id,
                "name": team.name,
                "domain": team.domain,
                "email_domain": "",
                "icon": {"image_default": True},
                **(
                    {"enterprise_id": team.enterprise_id, "enterprise_name": team.enterprise_name}
                    if team.enterprise_id
                    else {}
                ),
            }
        }

    def _api_team_profile_get(self, team, args):
        fields = json.loads(json.dumps(team.profile_fields))
        return {"profile": {"fields": fields, "sections": [{"id": "S1", "label": "About me"}]}}

    def _api_conversations_list(self, team, args):
        wanted = set(_ids(args.get("types") or "public_channel"))
        out = []
        for ch in team.channels.values():
            kind = self._kind_of(ch)
            if kind in wanted and (kind == "public_channel" or team.bot_user_id in ch.members):
                out.append(self._channel_json(team, ch))
        page, meta = self._page(out, args, 100)
        return {"channels": page, "response_metadata": meta}

    def _api_conversations_members(self, team, args):
        page, meta = self._page(list(self._channel(team, args).members), args, 100)
        return {"members": page, "response_metadata": meta}

    def _api_conversations_info(self, team, args):
        return {"channel": self._channel_json(team, self._channel(team, args))}

    def _api_conversations_join(self, team, args):
        ch = self._channel(team, args)
        if ch.is_private or ch.is_im or ch.is_mpim:
            raise _ApiError("method_not_supported_for_channel_type")
        result: dict[str, Any] = {}
        if team.bot_user_id in ch.members:
            result = {
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        else:
            ch.members.append(team.bot_user_id)
        return {"channel": self._channel_json(team, ch), **result}

    def _api_conversations_open(self, team, args):
        if args.get("channel"):
            ch = self._channel(team, args)
            existed = True
        else:
            users = _ids(args.get("users"))
            if not users:
                raise _ApiError("users_list_not_supplied")
            if len(set(users)) > MAX_CONVERSATION_USERS:
                raise _ApiError("too_many_users")
            ch, existed = self._open(team, users)
        body: dict[str, Any] = {"channel": {"id": ch.id}}
        if _flag(args.get("return_im")):
            body["channel"] = self._channel_json(team, ch)
        if existed:
            body.update(no_op=True, already_open=True)
        return body

    def _api_chat_postMessage(self, team, args):
        ch = self._post_target(team, args)
        text, blocks = self._content(args)
        ts = self._next_ts()
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        self._messages.append(
            Message(ch.id, ts, text, blocks, team.bot_user_id, team.id, thread_ts, None, metadata)
        )
        message = {
            "type": "message",
            "text": text,
            "user": team.bot_user_id,
            "bot_id": team.bot_id,
            "app_id": self.app_id,
            "ts": ts,
            "team": team.id,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"channel": ch.id, "ts": ts, "message": message}

    def _api_files_getUploadURLExternal(self, team, args):
        filename = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not filename:
            raise _ApiError("invalid_arguments")
        if not length.isdigit() or not 0 < int(length) <= MAX_FILE_BYTES:
            raise _ApiError("invalid_arguments")
        file_id = f"F{len(self._uploads) + 1:08d}"
        self._uploads[file_id] = {"filename": filename, "length": int(length), "team": team.id,
                                  "data": None}  # fmt: skip
        return {"upload_url": f"{self.url}upload/v1/{file_id}", "file_id": file_id}

    def _receive_upload(self, file_id: str, raw: bytes) -> tuple[int, dict, Any]:
        """The upload URL: the bytes must be exactly the length that was announced."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return 404, {}, {"ok": False, "error": "not_found"}
            if len(raw) != upload["length"]:
                return 400, {}, {"ok": False, "error": "length_mismatch"}
            upload["data"] = raw
        return 200, {}, f"OK - {len(raw)}"

    def _api_files_completeUploadExternal(self, team, args):
        files = args.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError:
                raise _ApiError("invalid_arguments") from None
        if not isinstance(files, list) or not files:
            raise _ApiError("invalid_arguments")
        channel = None
        if args.get("channel_id"):
            channel = self._post_target(team, {"channel": args["channel_id"]}).id
        shared = []
        for entry in files:
            upload = self._uploads.get(str((entry or {}).get("id")))
            if upload is None or upload["team"] != team.id or upload["data"] is None:
                raise _ApiError("file_not_found")
            shared.append(SharedFile(entry["id"], upload["filename"], entry.get("title"),
                                     upload["data"], channel, args.get("initial_comment")))  # fmt: skip
        self._files.extend(shared)
        return {"files": [{"id": f.id, "name": f.filename, "title": f.title} for f in shared]}

    def _api_conversations_history(self, team, args):
        """Newest first, like Slack; metadata only with include_all_metadata."""
        ch = self._channel(team, args)
        if self.history_limit_max and int(args.get("limit") or 0) > self.history_limit_max:
            raise _ApiError("invalid_limit")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        with_meta = _flag(args.get("include_all_metadata"))
        found = [
            m for m in self._messages
            if m.channel == ch.id and m.thread_ts is None and oldest < float(m.ts) < latest
        ]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        page, meta = self._page(found, args, 100)
        messages = []
        for m in page:
            item = {"type": "message", "ts": m.ts, "text": m.text, "user": m.user,
                    "bot_id": team.bot_id, "app_id": self.app_id}
            if m.blocks is not None:
                item["blocks"] = m.blocks
            if with_meta and m.metadata:
                item["metadata"] = m.metadata
            messages.append(item)
        return {"messages": messages, "has_more": bool(meta.get("next_cursor")),
                "response_metadata": meta}

    def _api_chat_postEphemeral(self, team, args):
        ch = self._post_target(team, args)
        user = str(args.get("user") or "")
        if user not in team.users:
            raise _ApiError("user_not_found")
        if user not in ch.members:
            raise _ApiError("user_not_in_channel")
        text, blocks = self._content(args)
        ts = self._next_ts()
        self._ephemerals.append(
            Message(ch.id, ts, text, blocks, team.bot_user_id, team.id, None, user)
        )
        return {"message_ts": ts}

    def _api_chat_update(self, team, args):
        msg = self._find_message(team, args)
        text, blocks = self._content(args, required=False)
        if not text and blocks is None and not args.get("attachments"):
            raise _ApiError("no_text")
        if "text" in args:
            msg.text = text
        if blocks is not None:
            msg.blocks = blocks
        message = {
            "type": "message",
            "text": msg.text,
            "user": msg.user,
            "bot_id": team.bot_id,
            "blocks": msg.blocks,
        }
        return {"channel": msg.channel, "ts": msg.ts, "text": msg.text, "message": message}

    def _api_chat_delete(self, team, args):
        msg = self._find_message(team, args)
        self._messages.remove(msg)
        return {"channel": msg.channel, "ts": msg.ts}

    def _api_views_publish(self, team, args):
        user_id = str(args.get("user_id") or "")
        view = self._view_arg(args)
        if user_id not in team.users:
            raise _ApiError("user_not_found")
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        old = self._home.get((team.id, user_id))
        if old and args.get("hash") and args["hash"] != self._views[old]["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._store_view(team, view, old, user_id=user_id)
        self._home[(team.id, user_id)] = stored["id"]
        return {"view": stored}

    def _api_views_open(self, team, args):
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments")
        view = self._view_arg(args)
        self._use_trigger(str(args["trigger_id"]))
        if view.get("type") != "modal":
            raise _ApiError("invalid_arguments")
        return {"view": self._store_view(team, view, trigger_id=str(args["trigger_id"]))}

    _api_views_push = _api_views_open

    def _use_trigger(self, trigger_id: str) -> None:
        issued = self._triggers.get(trigger_id, 0.0)
        if trigger_id not in self._triggers:
            raise _ApiError("invalid_trigger_id")
        if issued is None or time.time() - issued > TRIGGER_SECONDS:
            raise _ApiError("expired_trigger_id")
        self._triggers[trigger_id] = None

    def _api_views_update(self, team, args):
        view = self._view_arg(args)
        vid = str(args.get("view_id") or "")
        if not vid and args.get("external_id"):
            ext = args["external_id"]
            vid = next((k for k, v in self._views.items() if v["external_id"] == ext), "")
        old = self._views.get(vid)
        if old is None or old["team_id"] != team.id:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        keep = {k: old[k] for k in ("user_id", "trigger_id") if k in old}
        return {"view": self._store_view(team, view, vid, **keep)}

    def _api_apps_connections_open(self, app_token, args):
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = app_token
        return {"url": f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _api_oauth_v2_access(self, team, args, basic):
        client_id, client_secret = basic or (args.get("client_id"), args.get("client_secret"))
        if not client_id or (self.oauth_client_id and client_id != self.oauth_client_id):
            raise _ApiError("invalid_client_id")
        if not client_secret or (
            self.oauth_client_secret and client_secret != self.oauth_client_secret
        ):
            raise _ApiError("bad_client_secret")
        if args.get("grant_type") == "refresh_token":
            return self._refresh(str(args.get("refresh_token") or ""))
        code = str(args.get("code") or "")
        if code in self._used_codes:
            raise _ApiError("code_already_used")
        grant = self._oauth_codes.get(code)
        if grant is None:
            raise _ApiError("invalid_code")
        if grant["redirect_uri"] and args.get("redirect_uri") != grant["redirect_uri"]:
            raise _ApiError("bad_redirect_uri")
        del self._oauth_codes[code]
        self._used_codes.add(code)
        existing = self._teams.get(grant["team_id"])
        if existing is None:
            self.add_team(
                grant["team_id"],
                grant["team_name"],
                grant["bot_token"],
                grant["bot_user_id"],
                enterprise_id=grant["enterprise_id"],
                enterprise_name=grant["enterprise_name"],
            )
            existing = self._teams[grant["team_id"]]
        else:
            existing.bot_token = grant["bot_token"]
            self._tokens[grant["bot_token"]] = existing.id
            self._revoked.discard(grant["bot_token"])
        existing.scopes = frozenset(_ids(grant["scope"]))
        body = self._token_grant(existing, grant["bot_token"], grant["scope"])
        body["authed_user"] = {"id": grant["authed_user_id"]}
        if grant["is_enterprise_install"]:
            # One token for the org, working in each workspace the app is added to (here
            # the grant's team first); it is not the workspace's own token.
            if self._tokens.get(grant["bot_token"]) == existing.id:
                del self._tokens[grant["bot_token"]]
            self._org_tokens[grant["bot_token"]] = existing.enterprise_id
            self._org_access.setdefault(existing.enterprise_id, set()).add(existing.id)
            body.update(team=None, is_enterprise_install=True)
        return body

    def _token_grant(self, team: _Team, token: str, scope: str) -> dict:
        """oauth.v2.access's answer for a bot token (expiring, with a refresh token, when
        token_lifetime is set)."""
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "bot",
            "scope": scope,
            "bot_user_id": team.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": (
                {"id": team.enterprise_id, "name": team.enterprise_name}
                if team.enterprise_id
                else None
            ),
            "is_enterprise_install": False,
        }
        if self.token_lifetime:
            refresh = "xoxe-1-" + uuid.uuid4().hex
            self._refresh_tokens[refresh] = team.id
            self._token_expiry[token] = time.time() + self.token_lifetime
            body.update(refresh_token=refresh, expires_in=self.token_lifetime)
        return body

    def _refresh(self, refresh_token: str) -> dict:
        """grant_type=refresh_token: a new access token and refresh token; the used refresh
        token is revoked, the old access token lasts until it expires."""
        team_id = self._refresh_tokens.pop(refresh_token, None)
        if team_id is None:
            raise _ApiError("invalid_refresh_token")
        team = self._teams[team_id]
        token = "xoxe.xoxb-" + uuid.uuid4().hex
        team.bot_token = token
        self._tokens[token] = team.id
        return self._token_grant(team, token, ",".join(sorted(team.scopes)))

    def expire_token(self, token: str) -> None:
        """Make an expiring token expire now, as 12 hours would."""
        with self._lock:
            self._token_expiry[token] = time.time()

def _block_problems(blocks: Any, most: int, where: str = "/blocks") -> list[str]:
    """Block Kit's limits that Slack checks, in Slack's wording; empty when all hold."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{where}]"]
    problems = []
    if len(blocks) > most:
        problems.append(f"[ERROR] no more than {most} items allowed [json-pointer:{where}]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            problems.append(f"[ERROR] must be an object [json-pointer:{where}/{i}]")
            continue
        if block.get("block_id") is not None:  # one per message or view (Slack makes its own)
            if block["block_id"] in block_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{where}/{i}/block_id]")
            block_ids.add(block["block_id"])
        text = (block.get("text") or {}).get("text", "") if isinstance(block.get("text"), dict) else ""
        if block.get("type") == "section":
            if len(text) > MAX_SECTION_TEXT:
                problems.append(
                    f"[ERROR] must be less than {MAX_SECTION_TEXT + 1} characters "
                    f"[json-pointer:{where}/{i}/text/text]"
                )
            fields = block.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(
                    f"[ERROR] no more than {MAX_SECTION_FIELDS} items allowed "
                    f"[json-pointer:{where}/{i}/fields]"
                )
            for j, item in enumerate(fields):
                if isinstance(item, dict) and len(str(item.get("text", ""))) > MAX_FIELD_TEXT:
                    problems.append(
                        f"[ERROR] must be less than {MAX_FIELD_TEXT + 1} characters "
                        f"[json-pointer:{where}/{i}/fields/{j}/text]"
                    )
        elif block.get("type") == "header" and len(text) > MAX_HEADER_TEXT:
            problems.append(
                f"[ERROR] must be less than {MAX_HEADER_TEXT + 1} characters "
                f"[json-pointer:{where}/{i}/text/text]"
            )
        problems.extend(_part_problems(block, f"{where}/{i}"))
    return problems


# Lengths and counts Slack checks in blocks, elements, options and views (Block Kit
# reference): (key, most characters) for strings and text objects, (key, most items) for lists.
_LONGEST = {
    "block": {"block_id": 255},
    "input": {"label": 2000, "hint": 2000},
    "button": {"text": 75, "value": 2000, "url": 3000, "action_id": 255},
    "element": {"action_id": 255, "placeholder": 150},
    "plain_text_input": {"initial_value": 3000},
    "option": {"text": 75, "value": 150, "description": 75},
    "view": {"title": 24, "submit": 24, "close": 24, "private_metadata": 3000,
             "callback_id": 255, "external_id": 255},
}  # fmt: skip
_MOST = {
    "actions": ("elements", 25),
    "context": ("elements", 10),
    "static_select": ("options", 100),
    "multi_static_select": ("options", 100),
    "checkboxes": ("options", 10),
    "radio_buttons": ("options", 10),
    "overflow": ("options", 5),
}


def _too_long(item: dict, rules: dict[str, int], where: str) -> list[str]:
    problems = []
    for key, most in rules.items():
        value = item.get(key)
        text, path = (value.get("text"), f"{key}/text") if isinstance(value, dict) else (value, key)
        if isinstance(text, str) and len(text) > most:
            problems.append(f"[ERROR] must be less than {most + 1} characters "
                            f"[json-pointer:{where}/{path}]")  # fmt: skip
    return problems


def _part_problems(block: dict, where: str) -> list[str]:
    """Limits below a block: its elements (an actions block's buttons, a section's
    accessory, an input's element) and their options."""
    kind = block.get("type")
    problems = _too_long(block, _LONGEST["block"], where)
    if kind == "input":
        problems += _too_long(block, _LONGEST["input"], where)
    parts: list[tuple[dict, str]] = []
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            parts.append((block[key], f"{where}/{key}"))
    elements = block.get("elements")
    if isinstance(elements, list):
        parts += [(e, f"{where}/elements/{j}") for j, e in enumerate(elements) if isinstance(e, dict)]
    action_ids: set[str] = set()
    for element, path in parts:  # an action_id once per block
        if element.get("action_id") is not None:
            if element["action_id"] in action_ids:
                problems.append(f"[ERROR] duplicate action_id [json-pointer:{path}/action_id]")
            action_ids.add(element["action_id"])
    for item, path in [(block, where), *parts]:
        key, most = _MOST.get(item.get("type"), (None, 0))
        if key and isinstance(item.get(key), list) and len(item[key]) > most:
            problems.append(f"[ERROR] no more than {most} items allowed [json-pointer:{path}/{key}]")
    for element, path in parts:
        if kind == "context":
            continue  # text and images: their limits are not checked here
        rules = _LONGEST["button"] if element.get("type") == "button" else _LONGEST["element"]
        problems += _too_long(element, rules, path)
        if element.get("type") == "plain_text_input":
            problems += _too_long(element, _LONGEST["plain_text_input"], path)
        for key in ("options", "initial_options"):
            for j, option in enumerate(element.get(key) or []):
                if isinstance(option, dict):
                    problems += _too_long(option, _LONGEST["option"], f"{path}/{key}/{j}")
    return problems


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if "multipart/form-data" in content_type:
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if name:
                out[name] = payload if part.get_filename() else payload.decode("utf-8")
        return out
    pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    return {k: v[-1] for k, v in pairs.items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackDouble/1.0"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path.startswith("/link/"):
            self.server.double._serve_socket_link(self)  # type: ignore[attr-defined]
        else:
            self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        double: SlackDouble = self.server.double  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts.path.startswith("/api/"):
            status, headers, body = self._api(double, parts.path[5:], parts.query, raw)
        elif parts.path.startswith("/upload/v1/"):
            status, headers, body = double._receive_upload(parts.path.rsplit("/", 1)[-1], raw)
        elif parts.path.startswith("/response/"):
            rid = parts.path[len("/response/") :].strip("/")
            status, headers, body = double._handle_response_url(rid, raw)
        else:
            status, headers, body = 404, {}, {"ok": False, "error": "not_found"}
        self._reply(status, headers, body)

    def _reply(self, status: int, headers: dict, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _api(self, double: SlackDouble, method: str, query: str, raw: bytes):
        args: dict[str, Any] = {
            k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()
        }
        try:
            args.update(_parse_body(self.headers.get("Content-Type", ""), raw))
        except (ValueError, UnicodeDecodeError):
            return 200, {}, {"ok": False, "error": "invalid_json"}
        token = args.pop("token", None)
        basic = None
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        elif scheme.lower() == "basic":
            try:
                cid, _, secret = base64.b64decode(value).decode().partition(":")
                basic = (cid, secret)
            except (ValueError, binascii.Error):
                basic = ("", "")
        for name in JSON_ARGS:
            if isinstance(args.get(name), str):
                try:
                    args[name] = json.loads(args[name])
                except ValueError:
                    pass  # left as a string; the method answers with Slack's format error
        return double._handle_api(method.strip("/"), args, token, basic)


# -- Socket Mode: the WebSocket side ---------------------------------------------------------------
# RFC 6455 as far as slack_sdk's Socket Mode clients use it: text frames both ways (fragmented
# ones are joined), ping/pong and the closing handshake. Frames from the app must be masked;
# frames to it are not.

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY = 0x0, 0x1, 0x2
_OP_CLOSE, _OP_PING, _OP_PONG = 0x8, 0x9, 0xA
_MAX_FRAME = 16 * 1024 * 1024


@dataclass(frozen=True)
class SocketConnection:
    """One WebSocket the app opened, as the double saw it."""

    app_token: str
    opened: float
    closed: float | None  # when it ended; None while open
    close_code: int | None  # from the app's close frame; None if it just hung up (or is open)
    retiring: bool  # told to move to a new connection (``socket_disconnect``)
    pongs: int  # answers to the double's pings

    @property
    def active(self) -> bool:
        return self.closed is None


class _ProtocolError(Exception):
    def __init__(self, code: int = 1002, reason: str = "protocol error"):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _SocketLink:
    """The server end of one WebSocket; ``run`` reads in the HTTP handler's thread while the
    test's thread may send."""

    def __init__(self, double: SlackDouble, sock: socket.socket, rfile, app_token: str):
        self.double = double
        self.sock = sock
        self.rfile = rfile
        self.app_token = app_token
        self.opened = time.time()
        self.closed: float | None = None
        self.close_code: int | None = None
        self.retiring = False
        self.pongs = 0
        self.send_lock = threading.RLock()
        self._close_sent = False

    def snapshot(self) -> SocketConnection:
        return SocketConnection(
            self.app_token, self.opened, self.closed, self.close_code, self.retiring, self.pongs
        )

    def send_frame(self, opcode: int, data: bytes = b"") -> bool:
        """One unfragmented, unmasked frame; False if the connection is gone or closing."""
        size = len(data)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self.send_lock:
            if self._close_sent:  # nothing may follow a close frame
                return False
            self._close_sent = opcode == _OP_CLOSE
            try:
                self.sock.sendall(header + data)
            except OSError:
                return False
        return True

    def send_json(self, message: dict) -> bool:
        return self.send_frame(_OP_TEXT, json.dumps(message).encode())

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame and hang up without waiting (slack_sdk does not answer one)."""
        self.send_frame(_OP_CLOSE, struct.pack("!H", code) + reason.encode())
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def run(self) -> None:
        parts: list[bytes] = []
        kind: int | None = None  # opcode of the message being joined from fragments
        code: int | None = None
        try:
            while True:
                fin, opcode, data = self._read_frame()
                if opcode == _OP_CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    self.send_frame(_OP_CLOSE, data[:2])  # the closing handshake's answer
                    break
                if opcode == _OP_PING:
                    self.send_frame(_OP_PONG, data)
                elif opcode == _OP_PONG:
                    with self.double._lock:
                        self.pongs += 1
                elif opcode in (_OP_TEXT, _OP_BINARY) and kind is None:
                    kind, parts = opcode, [data]
                elif opcode == _OP_CONTINUATION and kind is not None:
                    parts.append(data)
                else:
                    raise _ProtocolError()  # an unknown opcode, or fragments out of order
                if fin and opcode < _OP_CLOSE:
                    if kind == _OP_TEXT:
                        self._received(b"".join(parts))
                    parts, kind = [], None
        except _ProtocolError as error:
            self.close(error.code, error.reason)
        except (OSError, EOFError):
            pass  # the app hung up (or stop() did)
        finally:
            with self.double._lock:
                self.closed = time.time()
                self.close_code = code

    def _received(self, data: bytes) -> None:
        try:
            self.double._socket_message(data.decode())
        except ValueError:  # includes bad UTF-8
            raise _ProtocolError(1007, "not a JSON object") from None

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        fin, opcode, size = bool(first & 0x80), first & 0x0F, second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._read(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._read(8))
        if not second & 0x80 or first & 0x70 or size > _MAX_FRAME:
            raise _ProtocolError()  # unmasked, an extension bit, or absurdly large
        if opcode >= _OP_CLOSE and (size > 125 or not fin):
            raise _ProtocolError()  # control frames are short and never fragmented
        mask = self._read(4)
        raw = self._read(size)
        key = (mask * (size // 4 + 1))[:size]
        data = (int.from_bytes(raw, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
        return fin, opcode, data

    def _read(self, size: int) -> bytes:
        data = self.rfile.read(size) if size else b""
        if len(data) < size:
            raise EOFError("connection closed")
        return data
