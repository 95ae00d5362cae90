"""Logging set-up, and the filter that keeps secrets and private data out of every log line.

Logs travel further than the database (log services, tickets, screenshots), so nothing in
them may hold a token, a secret, an OAuth code, an email address or anyone's level. The
:class:`Redact` filter sits on the root logger's handlers, so it sees every record that
propagates (ours, slack_sdk's, slack_bolt's, SQLAlchemy's), and on gunicorn's own handlers.
At DEBUG, slack_sdk and slack_bolt write whole request and response bodies (messages that
name levels, profiles with emails): those bodies are left out, the rest of the line is kept.

With LOG_FORMAT=json every line (ours, gunicorn's, APScheduler's, slack_sdk's) is one JSON
object, for a log system to index: time, level, logger, message, and the workspace, program
and round the line is about when the code at hand knows them (:func:`context`). Redaction
runs before formatting, so the JSON holds exactly what a text line would.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator

from bot.common.privacy import LEVEL_EXPRESSION

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
        if _format == "json" and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())


# ---------------------------------------------------------------- what a line is about

ID_KEYS = ("team_id", "program_id", "round_id")
_ids: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_ids", default=None)


def current_ids() -> dict:
    return dict(_ids.get() or {})


@contextlib.contextmanager
def context(**ids) -> Iterator[None]:
    """Lines logged inside name these ids (team_id, program_id, round_id); never personal
    data, only identifiers a log system can group by."""
    token = _ids.set(_with(ids))
    try:
        yield
    finally:
        _ids.reset(token)


def note(**ids) -> None:
    """Add ids to the enclosing :func:`context` (which takes them back when it ends)."""
    if _ids.get() is None:
        raise RuntimeError("logs.note outside logs.context")
    _ids.set(_with(ids))


def _with(ids: dict) -> dict:
    """The current ids with these added (None values skipped); only known id names."""
    unknown = set(ids) - set(ID_KEYS)
    if unknown:
        raise ValueError(f"not a log id: {sorted(unknown)}")
    return {**current_ids(), **{k: v for k, v in ids.items() if v is not None}}


def carry(function: Callable) -> Callable:
    """`function` run with the caller's ids, in whatever thread runs it later."""
    ids = current_ids()

    @functools.wraps(function)
    def run(*args, **kwargs):
        with context(**ids):
            return function(*args, **kwargs)

    return run


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the ids the
    line is about, and the traceback if any (already redacted by :class:`Redact`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = current_ids()
        for key in ID_KEYS:
            value = getattr(record, key, None)  # logging's extra={...}
            if value is None:
                value = ids.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


# ---------------------------------------------------------------- set-up

_format = "text"


def configure(settings) -> None:
    """The log set-up of every process: level, one format, and redaction on every handler."""
    global _format
    remember_secrets(secret_values(settings))
    _format = getattr(settings, "log_format", "text")
    logging.basicConfig(level=settings.log_level, format=FORMAT)
    root = logging.getLogger()
    protect(root.handlers)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    if _format == "json":
        _everything_through_logging()


def _everything_through_logging() -> None:
    """Warnings and uncaught exceptions become log lines too, instead of raw stderr text."""
    logging.captureWarnings(True)

    def uncaught(kind, value, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            return
        logging.getLogger("bot").critical("uncaught exception", exc_info=(kind, value, traceback))

    def uncaught_in_thread(args) -> None:
        if args.exc_type is SystemExit:
            return
        logging.getLogger("bot").error(
            "uncaught exception in thread %s", getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )  # fmt: skip

    sys.excepthook = uncaught
    threading.excepthook = uncaught_in_thread


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
        """gunicorn's logger with the same redaction (its access log shows OAuth codes) and
        the same format (JSON when LOG_FORMAT=json)."""

        def setup(self, cfg) -> None:
            super().setup(cfg)
            protect(self.error_log.handlers)
            protect(self.access_log.handlers)
