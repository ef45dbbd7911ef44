"""The catalog page costs the same few statements on one connection, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from audiocity.auth.tokens import create_access_token
from audiocity.db import make_engine, make_sessionmaker, session_scope
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from audiocity.services import entitlements
from tests.app_resources import in_process_resources
from tests.factories import attach_file, make_published_book, make_user

SECRET = "statement-count-secret-0123456789-abcdef"
PAGE = """query($first: Int!) { audiobooks(first: $first) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id title authors narrators tags price { amountCents currency } durationSeconds coverUrl
  categories { name slug } files { id position fileName sizeBytes } } } } }"""
OWNED = """query($first: Int!) { audiobooks(first: $first) { totalCount edges { node { id owned
  files { fileName } categories { slug } } } } }"""


class Recorder:
    """Every statement sent: SQLAlchemy's cursor events for queries, asyncpg's query logger for the
    transaction control it sends itself (BEGIN, ROLLBACK); and every pool checkout."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        self.checkouts = 0
        self.engine = engine
        event.listen(engine.sync_engine, "checkout", self._checkout)
        event.listen(engine.sync_engine, "connect", self._connect)
        event.listen(engine.sync_engine, "before_cursor_execute", self._execute)

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def _connect(self, dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda r: self.statements.append(r.query))

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1

    def reset(self) -> None:
        self.statements.clear()
        self.checkouts = 0


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], Recorder]]:
    """The app's own engine settings (a pool, no pre-ping), recorded."""
    engine = make_engine(database_url, pool_size=2)
    recorder = Recorder(engine)
    yield make_sessionmaker(engine), recorder
    await engine.dispose()


def request(token: str | None = None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})


async def run(sessions: async_sessionmaker[AsyncSession], tmp_path: Path, query: str, first: int,
              token: str | None = None) -> dict[str, Any]:  # fmt: skip
    resources = in_process_resources(sessions, tmp_path, SECRET)
    result = await build_schema().execute(
        query, variable_values={"first": first}, context_value=Context(resources=resources, request=request(token))
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_page_statements_do_not_grow_with_the_page(
    pooled: tuple[async_sessionmaker[AsyncSession], Recorder], tmp_path: Path
) -> None:
    sessions, recorder = pooled
    async with session_scope(sessions) as s:
        for _ in range(3):
            book = await make_published_book(s, categories=[f"Statements {uuid.uuid4().hex[:6]}"])
            await attach_file(s, book, position=1)
    await run(sessions, tmp_path, PAGE, 1)  # warm: connect-time set-up is not a request's cost

    counts = {}
    for first in (10, 100):
        recorder.reset()
        data = await run(sessions, tmp_path, PAGE, first)
        nodes = [e["node"] for e in data["audiobooks"]["edges"]]
        assert len(nodes) >= 3 and all(n["files"] and n["categories"] for n in nodes[:3])
        counts[first] = list(recorder.statements)
        assert recorder.checkouts == 1, "one connection per request, shared by every read"
    assert len(counts[10]) == len(counts[100]) == 2, counts  # the page (with count and categories), its files
    for statements in counts.values():
        assert not any(q.strip().upper() in ("BEGIN", "ROLLBACK", "COMMIT") for q in statements), statements
        assert not any("search_vector" in q or "description" in q or "summary" in q for q in statements)


async def test_signed_in_page_adds_only_the_viewer_lookup(
    pooled: tuple[async_sessionmaker[AsyncSession], Recorder], tmp_path: Path
) -> None:
    sessions, recorder = pooled
    async with session_scope(sessions) as s:
        book = await make_published_book(s)
        other = await make_published_book(s)
        customer = await make_user(s)
        await entitlements.grant(s, customer.id, [book.id], None)
    token = create_access_token(SECRET, customer.id, customer.role.value, 60)
    await run(sessions, tmp_path, OWNED, 1, token)
    recorder.reset()
    data = await run(sessions, tmp_path, OWNED, 100, token)
    owned = {e["node"]["id"]: e["node"]["owned"] for e in data["audiobooks"]["edges"]}
    from audiocity.graphql.relay import to_global_id

    assert owned[to_global_id("Audiobook", book.id)] is True
    assert owned[to_global_id("Audiobook", other.id)] is False
    assert recorder.checkouts == 1
    assert len(recorder.statements) == 3, recorder.statements  # viewer, page with `owned`, files


SEARCH = """query($search: String!) { audiobooks(first: 20, search: $search) { totalCount
  edges { node { title files { fileName } categories { slug } } } } }"""


async def test_a_search_costs_the_same_two_statements_once_its_connection_is_set_up(
    database_url: str, tmp_path: Path
) -> None:
    """The trigram threshold is sent once per pooled connection, not once per search, and it holds: a
    typo found on the connection's first search is found again on later ones."""
    engine = make_engine(database_url, pool_size=1)  # one connection: every request reuses it
    recorder = Recorder(engine)
    sessions = make_sessionmaker(engine)
    title = f"Meridian Voyage {uuid.uuid4().hex[:6]}"
    async with session_scope(sessions) as s:
        book = await make_published_book(s, title=title)
        await attach_file(s, book, position=1)
    typo = title.replace("Meridian Voyage", "Meridain Voyge")
    try:
        seen, counts, threshold = [], [], []
        for _ in range(3):
            recorder.reset()
            data = await run_search(sessions, tmp_path, typo)
            seen.append([e["node"]["title"] for e in data["audiobooks"]["edges"]])
            counts.append(len(recorder.statements))
            threshold.append(sum(q.startswith("SELECT set_config($1") for q in recorder.statements))
        assert all(title in titles for titles in seen), seen
        assert threshold == [1, 0, 0], threshold
        assert counts[1:] == [2, 2], counts  # then the page and its files only
    finally:
        await engine.dispose()


async def run_search(sessions: async_sessionmaker[AsyncSession], tmp_path: Path, search: str) -> dict[str, Any]:
    resources = in_process_resources(sessions, tmp_path, SECRET)
    result = await build_schema().execute(
        SEARCH, variable_values={"search": search}, context_value=Context(resources=resources, request=request())
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data
