"""The log pipeline: context fields on every line, JSON that parses, secrets scrubbed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from audiocity import logs


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with the production handler (filter + JSON formatter) writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("audiocity.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bound_fields_reach_every_line_and_are_restored(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    with logs.bound(request_id="r-1", user_id="u-1", operation="Checkout"):
        logger.info("first")
        with logs.bound(job_id="j-1", audiobook_id="b-1"):
            logger.info("nested %s", "line")
        logger.info("after")
    logger.info("outside")
    first, nested, after, outside = lines(stream)
    assert first["request_id"] == "r-1" and first["user_id"] == "u-1" and first["operation"] == "Checkout"
    assert nested["message"] == "nested line"
    assert nested["job_id"] == "j-1" and nested["audiobook_id"] == "b-1" and nested["request_id"] == "r-1"
    assert "job_id" not in after and after["request_id"] == "r-1"
    assert "request_id" not in outside
    assert {"time", "level", "logger", "message"} <= set(outside)


SECRETS = {
    "bearer": ("Authorization: Bearer abcdefghijklmnop123", "abcdefghijklmnop123"),
    "jwt": ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl here", "c2lnbmF0dXJlLXZhbHVl"),
    "signed url": ('GET /files/a/b.mp3?exp=1&fn=b.mp3&sig=Zm9vYmFyYmF6cXV4 HTTP/1.1"', "Zm9vYmFyYmF6cXV4"),
    "gcs signed url": (
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4&X-Goog-Signature=0a1b2c3d4e5f6a7b&x=1",
        "0a1b2c3d4e5f6a7b",
    ),
    "database url": ("connecting to postgresql://audiocity:hunter2pass@db:5432/app", "hunter2pass"),
    "openai key": ("using key sk-proj-ABCDEFGHIJKLMNOP", "sk-proj-ABCDEFGHIJKLMNOP"),
    "stripe secret": ("webhook whsec_abcdefghijklmnop failed", "whsec_abcdefghijklmnop"),
    "password field": ('{"email": "a@b.c", "password": "correct horse"}', "correct horse"),
    "refresh token query": ("POST /auth?refresh_token=opaque-refresh-value", "opaque-refresh-value"),
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_secrets_never_appear(kind: str, captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    text, secret = SECRETS[kind]
    logger.info("event: %s", text)
    (line,) = lines(stream)
    assert secret not in json.dumps(line), line
    assert "REDACTED" in str(line["message"])


def test_configured_secret_values_are_scrubbed_from_messages_and_tracebacks(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logs.REDACT.add(["plain-looking-configured-secret"])
    try:
        raise RuntimeError("bad credentials plain-looking-configured-secret")
    except RuntimeError:
        logger.exception("failed with %s", "plain-looking-configured-secret")
    (line,) = lines(stream)
    assert "plain-looking-configured-secret" not in json.dumps(line)
    assert "RuntimeError" in str(line["exception"])


def test_text_format_keeps_the_fields_readable() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    with logs.bound(request_id="r-9"):
        logs.ContextFilter().filter(record)
    text = logs.TextFormatter().format(record)
    assert text.endswith("hello world [request_id=r-9]")
