"""Logging set-up, and the filter that keeps secrets and private data out of every log line.

Logs travel further than the database (log services, tickets, screenshots), so nothing in
them may hold a token, a secret, an OAuth code, an email address or anyone's level. The
:class:`Redact` filter sits on the root logger's handlers, so it sees every record that
propagates (ours, slack_sdk's, slack_bolt's, SQLAlchemy's), and on gunicorn's own handlers.
At DEBUG, slack_sdk and slack_bolt write whole request and response bodies (messages that
name levels, profiles with emails): those bodies are left out, the rest of the line is kept.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from bot.privacy import LEVEL_EXPRESSION

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"

_TOKEN = re.compile(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# OAuth codes, in a query string (code=…) or a message (code: …); short numbers are status codes.
_CODE = re.compile(r"(?i)(\bcode[\"']?\s*[:=]\s*[\[\"']*)(?!\d{1,3}(?![\w.]))[A-Za-z0-9._~%-]+")
_SECRET_FIELD = re.compile(
    r"(?i)(\b\w*(?:secret|password|passwd|token|ticket)[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])"
    r"[^\s\"',;&}\]]+"
)
# A level a few words after the word ("'s level is now *8*"), beyond privacy's own pattern.
_LEVEL_NEAR = re.compile(r"(?i)\b(?:level|grade)s?\b[^\d\n]{0,24}?[1-9](?![\d.])")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
# Where slack_sdk and slack_bolt start writing a payload into a DEBUG line.
_PAYLOAD = re.compile(
    r"(?i)\b(query_params|body_params|json_body|body|files|event|payload|message|envelope|request)"
    r"(\s*[:=]\s*).*",
    re.DOTALL,
)
_PAYLOAD_LOGGERS = ("slack_sdk", "slack_bolt", "slack")
# SQLAlchemy's errors quote the row they failed on: levels, departments, emails.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background on this error|\Z)", re.DOTALL)

_known: set[str] = set()
_known_lock = threading.Lock()


def remember_secrets(values: Iterable[str | None]) -> None:
    """Values that must never be logged, whatever shape they have (signing secret, …)."""
    with _known_lock:
        _known.update(v for v in values if v and len(v) >= 4)


def redact(text: str, logger_name: str = "") -> str:
    """``text`` without secrets, tokens, OAuth codes, emails, levels or Slack payloads."""
    if logger_name.startswith(_PAYLOAD_LOGGERS):
        text = _PAYLOAD.sub(lambda m: f"{m.group(1)}{m.group(2)}(not logged)", text, count=1)
    text = _SQL_PARAMETERS.sub("[parameters: (not logged)]", text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, REDACTED)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    text = _TOKEN.sub(REDACTED, text)
    text = _CODE.sub(rf"\1{REDACTED}", text)
    text = _SECRET_FIELD.sub(rf"\1{REDACTED}", text)
    text = _EMAIL.sub("[email]", text)
    return _LEVEL_NEAR.sub("[level]", LEVEL_EXPRESSION.sub("[level]", text))


class Redact(logging.Filter):
    """Rewrites each record's message, traceback and stack as :func:`redact` says."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: show its pieces, still redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message, record.name), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, record.name)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, record.name)
        return True


def protect(handlers: Iterable[logging.Handler]) -> None:
    for handler in handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(Redact())


def configure(settings) -> None:
    """The log set-up of every process: level, one format, and redaction on every handler."""
    remember_secrets(secret_values(settings))
    logging.basicConfig(level=settings.log_level, format=FORMAT)
    root = logging.getLogger()
    protect(root.handlers)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


def secret_values(settings) -> list[str | None]:
    password = _URL_PASSWORD.search(settings.database_url or "")
    return [
        settings.bot_token,
        settings.signing_secret,
        settings.app_token,
        settings.client_secret,
        settings.state_secret,
        password.group(0)[len(password.group(1)) : -1] if password else None,
    ]


try:  # gunicorn logs through its own handlers, which do not propagate to the root logger
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency; Socket Mode does not need it
    _GunicornLogger = None

if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with the same redaction (its access log shows OAuth codes)."""

        def setup(self, cfg) -> None:
            super().setup(cfg)
            protect(self.error_log.handlers)
            protect(self.access_log.handlers)
