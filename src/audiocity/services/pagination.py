"""Keyset pagination: opaque cursors over (sort value, id), never OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

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


# --- one keyset pager ----------------------------------------------------------------------------------


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value)


def as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(value)


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def as_int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("expected an integer")
    return value


@dataclass(frozen=True)
class Key(Generic[T]):
    """One sort key: the SQL expression, its cursor value read from an item, and that value parsed back.

    The parsed value is compared with the expression in SQL, so `parse` must give the expression's type
    (and raise `ValueError`/`TypeError` otherwise: a malformed cursor is bad input, never a 500).
    """

    column: Any  # a column or SQL expression: `col(Model.field)`, `func.coalesce(...)`
    value: Callable[[T], Any]
    parse: Callable[[Any], Any]


def time_key(column: Any, read: Callable[[T], datetime]) -> Key[T]:
    return Key(column, lambda item: read(item).isoformat(), as_datetime)


def id_key(column: Any, read: Callable[[T], uuid.UUID]) -> Key[T]:
    """The tie-breaker every keyset ends with, so the order is total."""
    return Key(column, lambda item: str(read(item)), as_uuid)


def decode_keys(after: str, keys: Sequence[Key[T]]) -> list[Any]:
    values = decode_cursor(after)
    try:
        if len(values) != len(keys):
            raise ValueError("wrong number of cursor values")
        return [key.parse(value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


def _first_column(row: Sequence[Any]) -> Any:
    return row[0]


async def keyset_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    *,
    keys: Sequence[Key[T]],
    count: Select[*tuple[Any, ...]],
    first: int | None,
    after: str | None,
    descending: bool = True,
    item: Callable[[Sequence[Any]], T] = _first_column,
) -> Page[T]:
    """Run `query` one page at a time, ordered by `keys` (ending with a unique one), never with OFFSET.

    `item` turns a result row into a page item (by default its first column); `count` gives `total_count`.
    """
    limit = page_size(first)
    columns = [key.column for key in keys]
    if after:
        bound = tuple_(*decode_keys(after, keys))
        query = query.where(tuple_(*columns) < bound if descending else tuple_(*columns) > bound)
    order = [c.desc() if descending else c.asc() for c in columns]
    rows = (await session.execute(query.order_by(*order).limit(limit + 1))).all()
    items = [item(row) for row in rows[:limit]]
    return Page(
        items=items,
        cursors=[encode_cursor([key.value(i) for key in keys]) for i in items],
        has_next_page=len(rows) > limit,
        total_count=int(await session.scalar(count) or 0),
    )
