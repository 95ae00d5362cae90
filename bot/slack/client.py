"""Every Web API client the app makes, pointed at SLACK_API_URL and patient with Slack.

Retry handlers come from slack_sdk: HTTP 429 waits for Retry-After, 5xx and dropped
connections back off and try again, so a busy Slack delays a message instead of losing it.
Each 429 and each retry is counted (bot/common/metrics.py) by Web API method.
"""

from __future__ import annotations

import contextlib
import logging
import random
import urllib.parse
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web import SlackResponse

from bot.common import metrics
from bot.common.config import ConfigError, Settings

log = logging.getLogger(__name__)

# Slack's answers meaning this workspace's token cannot be used: nothing else will work either
# until an admin reinstalls or grants the scope.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "missing_scope"}
)
# What an admin is told to fix by reinstalling the app.
REINSTALL_ERRORS = TOKEN_ERRORS | {"token_expired", "no_permission"}
# Slack answers that say "not now" rather than "never"; HTTP 429 and 5xx answers, timeouts and
# dropped connections are transient too.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout",
     "post_failed", "timeout", "connection_error"}
)


def _method(request) -> str:
    """The Web API method of a call (chat.postMessage), from its URL."""
    path = (getattr(request, "url", "") or "").split("?", 1)[0]
    return metrics.label(path.rstrip("/").rsplit("/", 1)[-1])


class _Count429(RetryHandler):
    """First in every client's list: counts each 429 answer, and never retries itself."""

    def can_retry(self, *, state, request, response=None, error=None) -> bool:
        if response is not None and response.status_code == 429:
            metrics.SLACK_RATE_LIMITED.labels(_method(request)).inc()
        return False


def _counted(handler_class, reason: str):
    class Counted(handler_class):
        def prepare_for_next_attempt(self, *, state, request, response=None, error=None):
            metrics.SLACK_RETRIES.labels(_method(request), reason).inc()
            super().prepare_for_next_attempt(
                state=state, request=request, response=response, error=error
            )

    Counted.__name__ = Counted.__qualname__ = f"Counted{handler_class.__name__}"
    return Counted


_RateLimited = _counted(RateLimitErrorRetryHandler, "rate_limited")
_ServerError = _counted(ServerErrorRetryHandler, "server_error")
_ConnectionError = _counted(ConnectionErrorRetryHandler, "connection_error")


# Work that must not be lost (a round's intros, scheduled jobs) rides out a couple of minutes
# of trouble; where a person is waiting (a command's first check, serve's start) the app
# says what is wrong within seconds instead.
PATIENT_RETRIES, PATIENT_TIMEOUT = 8, 30
QUICK_RETRIES, QUICK_TIMEOUT = 2, 10

REACH_SLACK = "check the network connection, or SLACK_API_URL if you changed it"


class _ScaledJitter(Jitter):
    """slack_sdk's jitter of up to a second, shortened as the backoff is."""

    def __init__(self, scale: float):
        self.scale = scale

    def recalculate(self, duration: float) -> float:
        return duration + random.random() / self.scale


def retry_handlers(max_retries: int = PATIENT_RETRIES, scale: float = 1.0) -> list:
    """slack_sdk's handlers; SLACK_RATE_SCALE (``scale``) shortens the backoff after a 5xx or a
    dropped connection as it raises the rate limits, so a faster Slack is waited on less."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5 / scale, jitter=_ScaledJitter(scale))
    return [
        _Count429(),
        _RateLimited(max_retry_count=max_retries),
        _ServerError(max_retry_count=max_retries, interval_calculator=backoff),
        _ConnectionError(max_retry_count=max_retries, interval_calculator=backoff),
    ]


def web_client(settings: Settings, token: str | None = None, quick: bool = False) -> WebClient:
    """``quick``: a person is waiting for the answer (see PATIENT_RETRIES)."""
    retries = QUICK_RETRIES if quick else PATIENT_RETRIES
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=QUICK_TIMEOUT if quick else PATIENT_TIMEOUT,
        retry_handlers=retry_handlers(retries, settings.slack_rate_scale),
    )


def rate_limit_only_client(settings: Settings, token: str | None) -> WebClient:
    """For calls that must not be repeated blindly: only a 429 (never processed) is retried."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=PATIENT_TIMEOUT,
        retry_handlers=[_Count429(), _RateLimited(max_retry_count=PATIENT_RETRIES)],
    )


def cannot_reach(settings: Settings, error: OSError) -> str:
    """A connection that failed after its retries, as the start of one line for a person."""
    why = getattr(error, "reason", None) or error
    return f"cannot reach Slack at {settings.slack_api_url} ({why})"


def refused_token(code: str) -> str:
    """One line for a person whose bot token Slack will not take."""
    return (f"Slack refused SLACK_BOT_TOKEN ({code}): check the Bot User OAuth Token under "
            "OAuth & Permissions and that the app is installed")  # fmt: skip


def check_bot_token(settings: Settings) -> SlackResponse:
    """Ask Slack once, with few retries, whether the bot token works; say plainly if not.
    Returns auth.test's answer (whose workspace the token is, and its scopes)."""
    client = web_client(settings, settings.require_bot_token(), quick=True)
    return asked_at_start(settings, "check SLACK_BOT_TOKEN", refused_token, client.auth_test)


def asked_at_start(settings: Settings, doing: str, refused: Callable[[str], str], call):
    """`call`'s answer; its failure as the one line a person starting the app reads: Slack
    having trouble (`doing` is what it could not do), the token refused (`refused` words
    it from Slack's code), or Slack out of reach."""
    try:
        with _one_line():
            return call()
    except SlackApiError as error:
        if is_transient(error):
            raise ConfigError(slack_down(error, doing)) from None
        raise ConfigError(refused(reason(error))) from None
    except OSError as error:
        raise ConfigError(f"{cannot_reach(settings, error)}: {REACH_SLACK}") from None


@contextlib.contextmanager
def _one_line():
    """slack_sdk's own error line for each failed try held back (unless logging at DEBUG):
    the person waiting reads the one line that says what failed and what to do, not three
    "Failed to send a request to Slack API server" lines above it."""
    sdk = logging.getLogger("slack_sdk")
    before = sdk.level
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        sdk.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        sdk.setLevel(before)


def is_response_url(url: str, settings: Settings) -> bool:
    """Whether a response_url is Slack's (hooks.slack.com, or the host SLACK_API_URL names):
    one carried through a modal's private metadata is posted to only then, never to a host
    a forged submission names."""
    where = urllib.parse.urlsplit(url)
    api = urllib.parse.urlsplit(settings.slack_api_url)
    if where.scheme == "https" and where.hostname == "hooks.slack.com":
        return True
    return (where.scheme, where.netloc) == (api.scheme, api.netloc)


def slack_answered(error: SlackApiError) -> str:
    """A refusal as the start of one line for a person: which call, and Slack's code."""
    response = error.response
    method = response.api_url.rsplit("/", 1)[-1] if response is not None else "a call"
    code = response.get("error") if response is not None else None
    return f"Slack answered {method} with {code or 'an error'}"


def error_code(error: Exception) -> str:
    """Slack's error code for a failed call; our own name for a timeout or lost connection."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        data = getattr(error.response, "data", error.response)
        code = data.get("error") if isinstance(data, dict) else None
        return str(code or (f"http_{status}" if status != 200 else "unknown_error"))
    reason = getattr(error, "reason", error)
    return "timeout" if isinstance(reason, TimeoutError) else "connection_error"


def is_transient(error: Exception) -> bool:
    """Whether Slack said "not now" (or said nothing), rather than "never"."""
    if not isinstance(error, SlackApiError):
        return True  # a timeout or a dropped connection, after the client's own retries
    status = getattr(error.response, "status_code", 200)
    return status == 429 or status >= 500 or error_code(error) in TRANSIENT_ERRORS


def slack_down(error: SlackApiError, doing: str) -> str:
    """One line for a person when Slack itself failed at start-up: not their token's fault."""
    return (f"Slack could not {doing} ({error_code(error)}): Slack may be having trouble "
            "(status.slack.com); try again in a few minutes")  # fmt: skip


def reason(error: Exception) -> str:
    """What went wrong, for a log line or a checklist: Slack's error code when Slack answered."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "error"))
    return f"{type(error).__name__}: {error}"

# Slack has no such person, or will not show them to the app any more (someone of another
# organisation whose shared channel was disconnected): either way, nobody the app can use.
UNKNOWN_PERSON = ("user_not_found", "users_not_found", "user_not_visible")


def slack_user(client: WebClient, user_id: str) -> dict | None:
    """The Slack user object, or None when the app cannot see such a person."""
    try:
        return client.users_info(user=user_id).get("user")
    except SlackApiError as error:
        if error.response.get("error") in UNKNOWN_PERSON:
            return None
        raise
