"""Keyset pagination: opaque cursors over (sort value, id), never OFFSET."""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import Integer, Select, bindparam, tuple_
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.services.errors import ErrorCode, ServiceError

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: Sequence[str]
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


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise ServiceError(ErrorCode.INVALID, f"`first` must be between 0 and {MAX_PAGE_SIZE}.", "first")
    return first


# --- one keyset pager ----------------------------------------------------------------------------------
#
# A page is a query ordered by a list of keys (the last one unique, so the order is total) and started
# after the cursor with a row-value comparison; its cursor is the JSON list of the last item's key values.
# `keyset_page` runs the whole thing; callers that assemble their own page (one statement that also
# counts, rows carrying extra columns) use `keyset_query` and `keyset_cursor`, so the rule and the cursor
# format live here only.


def as_datetime(value: Any) -> datetime:
    return cursor_time(value)


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
    bind_type: Any = None  # the SQL type the parsed value is bound as (default: the column's)


def time_key(column: Any, read: Callable[[T], datetime]) -> Key[T]:
    return Key(column, lambda item: read(item).isoformat(), as_datetime)


def id_key(column: Any, read: Callable[[T], uuid.UUID]) -> Key[T]:
    """The tie-breaker every keyset ends with, so the order is total."""
    return Key(column, lambda item: str(read(item)), as_uuid)


def text_key(column: Any, read: Callable[[T], str], *, max_chars: int) -> Key[T]:
    def parse(value: Any) -> str:
        text = as_str(value)
        if len(text) > max_chars:
            raise ValueError("a text cursor longer than the column")
        return text

    return Key(column, read, parse)


def int_key(column: Any, read: Callable[[T], int], *, low: int = -(2**31), high: int = 2**31) -> Key[T]:
    """An integer column (`low <= value < high`: the column's range, so PostgreSQL never overflows)."""

    def parse(value: Any) -> int:
        number = as_int(value)
        if not low <= number < high:
            raise ValueError("an integer cursor out of the column's range")
        return number

    return Key(column, read, parse)


def score_key(column: Any, read: Callable[[T], float]) -> Key[T]:
    """A float expression such as a relevance score. The cursor carries the score exactly (JSON keeps a
    double's every bit) and it is bound as double precision, so the row it came from compares equal."""

    def parse(value: Any) -> float:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise TypeError("a score cursor holds a finite number")
        return float(value)

    return Key(column, lambda item: float(read(item)), parse, bind_type=DOUBLE_PRECISION)


def decode_keys(after: str, keys: Sequence[Key[T]]) -> list[Any]:
    values = decode_cursor(after)
    try:
        if len(values) != len(keys):
            raise ValueError("wrong number of cursor values")
        return [key.parse(value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


def keyset_query(
    query: Select[*tuple[Any, ...]], keys: Sequence[Key[T]], *, after: str | None, limit: int, descending: bool
) -> Select[*tuple[Any, ...]]:
    """`query` ordered by `keys`, starting after the cursor, with one row more than `limit` (is there a next page?):
    a `keyset_statement` with its values bound, for a statement built per request."""
    statement = keyset_statement(query, keys, paged=bool(after), descending=descending)
    return statement.params(keyset_params(keys, after=after, limit=limit))


def keyset_statement(
    query: Select[*tuple[Any, ...]], keys: Sequence[Key[T]], *, paged: bool, descending: bool
) -> Select[*tuple[Any, ...]]:
    """`query` ordered by `keys`, after the cursor `after_0`, `after_1`… (when `paged`), `limit` rows: the
    values are parameters, so one statement object can serve every page of its shape (built,
    cache-keyed and adapted to its result columns once, not per request). Run it with `keyset_params`."""
    columns = [key.column for key in keys]
    if paged:
        bound = tuple_(*(bindparam(f"after_{i}", type_=k.bind_type or k.column.type) for i, k in enumerate(keys)))
        query = query.where(tuple_(*columns) < bound if descending else tuple_(*columns) > bound)
    order = [c.desc() if descending else c.asc() for c in columns]
    return query.order_by(*order).limit(bindparam("limit", type_=Integer))


def keyset_params(keys: Sequence[Key[T]], *, after: str | None, limit: int) -> dict[str, Any]:
    """The values for a `keyset_statement` (built with `paged=bool(after)`)."""
    params: dict[str, Any] = {"limit": limit + 1}
    if after:
        params.update((f"after_{i}", value) for i, value in enumerate(decode_keys(after, keys)))
    return params


def keyset_cursor(keys: Sequence[Key[T]], item: T) -> str:
    return encode_cursor([key.value(item) for key in keys])


class Cursors(Sequence[str]):
    """The cursors of a page's items, each encoded when first read: a page that is asked only for its
    `endCursor` encodes one cursor, not fifty."""

    __slots__ = ("_done", "_items", "_keys")

    def __init__(self, keys: Sequence[Key[T]], items: Sequence[T]) -> None:
        self._keys: Sequence[Key[Any]] = keys
        self._items: Sequence[Any] = items
        self._done: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = range(len(self._items))[index]  # IndexError and negative indexes as for a list
        cursor = self._done.get(position)
        if cursor is None:
            cursor = self._done[position] = keyset_cursor(self._keys, self._items[position])
        return cursor


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
    statement = keyset_query(query, keys, after=after, limit=limit, descending=descending)
    rows = (await session.execute(statement)).all()
    items = [item(row) for row in rows[:limit]]
    return Page(
        items=items,
        cursors=[keyset_cursor(keys, i) for i in items],
        has_next_page=len(rows) > limit,
        total_count=int(await session.scalar(count) or 0),
    )
