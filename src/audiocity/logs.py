"""Logging: who and what every line is about (context variables), JSON or text, secrets scrubbed.

A request binds its request id, user id and GraphQL operation; a job binds its job id and audiobook
id (and the request id of the request that queued it, carried in the Dramatiq message). Handlers
read them from context variables, so every line inside that request or job carries them without
passing loggers around.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "user_id", "operation", "job_id", "audiobook_id", "actor", "message_id")
_vars: dict[str, ContextVar[str | None]] = {name: ContextVar(f"audiocity_{name}", default=None) for name in FIELDS}


def get(name: str) -> str | None:
    return _vars[name].get()


def bind(**values: object) -> None:
    """Set fields for the rest of the current context (a request's or a job's task)."""
    for name, value in values.items():
        _vars[name].set(None if value is None else str(value))


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """Set fields for a block, then restore what was there."""
    tokens = [(_vars[name], _vars[name].set(None if value is None else str(value))) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict[str, str]:
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


# -- redaction -----------------------------------------------------------------------------------

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED]"),
    # JSON Web Tokens (access tokens, id tokens).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED-JWT]"),
    # Signatures and credentials in query strings: our signed URLs, GCS V4 signed URLs, tokens.
    (
        re.compile(
            r"(?i)([?&](?:sig|signature|token|access_token|refresh_token|code|key|x-goog-signature|"
            r"x-goog-credential|upload_id|password)=)[^&\s\"']+"
        ),
        r"\1[REDACTED]",
    ),
    # Passwords in URLs (postgresql://user:password@host, redis://:password@host).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), r"\1[REDACTED]@"),
    # API keys (OpenAI sk-..., Stripe sk_/rk_/whsec_).
    (
        re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{8,})"),
        "[REDACTED-KEY]",
    ),
    # key=value and "key": "value" pairs that name a secret.
    (
        re.compile(
            r"(?i)([\"']?\b(?:password|secret|secret_key|api_key|client_secret|refresh_token|access_token)\b[\"']?"
            r"\s*[:=]\s*[\"']?)[^\"'\s,}&]+"
        ),
        r"\1[REDACTED]",
    ),
]


class Redactor:
    """Scrubs known secret values and anything shaped like a token, key or signature."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add(self, values: Iterable[str | None]) -> None:
        self.secrets.update(v for v in values if v and len(v) >= 6)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "[REDACTED]")
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


REDACT = Redactor()


class ContextFilter(logging.Filter):
    """Copies the bound fields onto the record and scrubs its message (args included) once."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        if not getattr(record, "_audiocity_scrubbed", False):
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: keep the raw text
                message = str(record.msg)
            record.msg, record.args = REDACT(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = REDACT(record.exc_text)
            record._audiocity_scrubbed = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name in ("trace_id", "span_id"):
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = REDACT(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the bound fields at the end."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name, None))
        if not extra:
            return text
        first, sep, rest = text.partition("\n")
        return f"{first} [{extra}]{sep}{rest}"


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str | None] = ()) -> None:
    """One handler on the root logger; uvicorn's and Dramatiq's loggers propagate to it."""
    REDACT.add(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt.lower() == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings become log lines too (JSON in production)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
