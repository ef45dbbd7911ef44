"""Keyset pagination: opaque cursors over (sort value, id), never OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc
    if not isinstance(values, list):
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after")
    return values


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A `(created_at, id)` cursor; anything else is bad input (`INVALID`), never an internal error."""
    values = decode_cursor(cursor)
    try:
        created, last_id = values
        return datetime.fromisoformat(created), uuid.UUID(last_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise ServiceError(ErrorCode.INVALID, f"`first` must be between 0 and {MAX_PAGE_SIZE}.", "first")
    return first
