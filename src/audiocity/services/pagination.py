"""Keyset pagination: opaque cursors over (sort value, id), never OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from audiocity.services.errors import ErrorCode, ServiceError

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    total_count: int


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode()


MAX_CURSOR_CHARS = 1_000  # real cursors are under 200 characters
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)


def decode_cursor(cursor: str) -> list[Any]:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc
    if not isinstance(values, list):
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after")
    return values


def cursor_time(raw: Any) -> datetime:
    """A timestamp from a cursor: ISO 8601 with a zone, within the range the store can have written."""
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None or not (EARLIEST <= value < LATEST):
        raise ValueError("a cursor time is an aware timestamp the store could have written")
    return value


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A `(created_at, id)` cursor; anything else is bad input (`INVALID`), never an internal error."""
    values = decode_cursor(cursor)
    try:
        created, last_id = values
        return cursor_time(created), uuid.UUID(last_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise ServiceError(ErrorCode.INVALID, f"`first` must be between 0 and {MAX_PAGE_SIZE}.", "first")
    return first
