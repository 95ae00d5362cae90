"""Every Web API client the app makes, pointed at SLACK_API_URL and patient with Slack.

Retry handlers come from slack_sdk: HTTP 429 waits for Retry-After, 5xx and dropped
connections back off and try again, so a busy Slack delays a message instead of losing it.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings

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


def retry_handlers(max_retries: int = 8) -> list:
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries),
        ConnectionErrorRetryHandler(max_retry_count=max_retries),
    ]


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=retry_handlers(),
    )


def rate_limit_only_client(settings: Settings, token: str | None) -> WebClient:
    """For calls that must not be repeated blindly: only a 429 (never processed) is retried."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=8)],
    )


def reason(error: Exception) -> str:
    """What went wrong, for a log line or a checklist: Slack's error code when Slack answered."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "error"))
    return f"{type(error).__name__}: {error}"
