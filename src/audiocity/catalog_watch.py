"""The catalog version in memory, kept current by PostgreSQL LISTEN/NOTIFY.

The public response cache keys answers by the catalog version (`graphql/response_cache.py`); asking
PostgreSQL for it on every cache hit cost more than the hit itself. The `bump_catalog_version()`
trigger function (migration 0014) also sends `pg_notify('audiocity_catalog', <new version>)`, which
PostgreSQL delivers to listeners when the writing transaction commits. Each API process keeps one
dedicated asyncpg connection that LISTENs, and answers `current()` from memory while it is healthy.

Ordering, so that a hit never serves a version older than one this process could have seen:
- LISTEN first, then read the version: a commit before the LISTEN is in the read, a commit after
  it is notified; the two are merged with `max`, so their order of arrival does not matter.
- Until that first read has returned, and from the moment the connection is found closed (its
  termination callback, or a failed keep-alive ping every `ping_seconds`), the in-memory version
  is dropped and `current()` asks the database (the caller's query) instead; the task reconnects
  after `retry_seconds`.
- Before answering from memory, `current()` lets the event loop run a few turns, so a notification
  that has already reached this process's socket is applied first.

What remains is NOTIFY's own delivery latency: PostgreSQL signals listeners before it acknowledges
the writer's commit, but the listener's backend writes the notification to its socket concurrently
with the writer's client learning of the commit (well under a millisecond on one host). A reader
that learns of a write through the writer (not through PostgreSQL) and races to another process
inside that window could see the previous version once. Without a listener (`CATALOG_LISTEN=0`)
every hit asks the database, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from audiocity import metrics

log = logging.getLogger(__name__)
CHANNEL = "audiocity_catalog"
APPLICATION_NAME = "audiocity-catalog-listener"
DRAIN_TURNS = 3  # loop turns for a notification on the socket to reach its callback (read, then call_soon)


def connect_args(database_url: str) -> dict[str, Any]:
    """asyncpg's connect arguments for the app's database URL (SQLAlchemy's own translation)."""
    from audiocity.db import async_url

    engine = create_async_engine(async_url(database_url))
    try:
        _, kwargs = engine.dialect.create_connect_args(make_url(async_url(database_url)))
    finally:
        engine.sync_engine.dispose()
    return dict(kwargs)


class CatalogWatch:
    """One process's view of the catalog version; None means "not known: ask the database"."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        retry_seconds: float = 1.0,
        ping_seconds: float = 5.0,
    ) -> None:
        self._connect = connect
        self.retry_seconds = retry_seconds
        self.ping_seconds = ping_seconds
        self._version: int | None = None
        self._notified = 0  # highest version notified on the current connection
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None

    @property
    def healthy(self) -> bool:
        return self._version is not None

    async def current(self, query: Callable[[], Awaitable[int]]) -> int:
        """The catalog version: from memory while the listener is healthy, else `query()`."""
        if self._version is not None:
            for _ in range(DRAIN_TURNS):
                await asyncio.sleep(0)
        version = self._version
        if version is not None:
            return version
        metrics.CATALOG_VERSION_QUERIES.inc()
        return await query()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="catalog-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._version = None  # shutting down: no warning
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 2)
            self._connection = None

    def _lose(self) -> None:
        """Stop trusting memory at once: every hit asks the database until the next full sync."""
        if self._version is not None:
            log.warning("catalog listener lost; reading the catalog version from the database")
        self._version = None
        metrics.CATALOG_LISTENER_UP.set(0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            version = int(payload)
        except ValueError:
            return
        self._notified = max(self._notified, version)
        if self._version is not None:
            self._version = max(self._version, version)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, dropped, timed out: retry
                log.info("catalog listener: %s", exc)
            finally:
                self._lose()
                conn, self._connection = self._connection, None
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.retry_seconds)

    async def _listen_once(self) -> None:
        lost = asyncio.Event()
        conn = self._connection = await self._connect()

        def closed(_conn: object) -> None:
            self._lose()
            lost.set()

        conn.add_termination_listener(closed)
        self._notified = 0
        await conn.add_listener(CHANNEL, self._on_notify)
        read = await conn.fetchval("SELECT version FROM catalog_version WHERE id = 1")
        if lost.is_set() or conn.is_closed():
            return
        self._version = max(int(read or 0), self._notified)
        metrics.CATALOG_LISTENER_UP.set(1)
        log.info("catalog listener connected at version %s", self._version)
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.ping_seconds)
                return
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), self.ping_seconds)
            except Exception:
                return


def open_watch(database_url: str, retry_seconds: float = 1.0) -> CatalogWatch:
    """A watch on the app's database; its connection is named (with the process id) in pg_stat_activity."""
    kwargs = connect_args(database_url)
    settings = {**kwargs.pop("server_settings", {}), "application_name": f"{APPLICATION_NAME}:{os.getpid()}"}

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(**kwargs, server_settings=settings, timeout=10)

    return CatalogWatch(connect, retry_seconds=retry_seconds)
