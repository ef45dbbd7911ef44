"""Shared fixtures: one real PostgreSQL and one real Redis for the whole run.

Embedded servers start in a temp dir unless DATABASE_URL / REDIS_URL point elsewhere; against an
external PostgreSQL the run uses a fresh database of its own and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dramatiq
import httpx
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from audiocity import broker as brokers
from audiocity import migrate, tasks
from audiocity.db import async_url, make_sessionmaker
from audiocity.embedded import start_postgres, start_redis


def _external_database(url: str) -> tuple[str, str]:
    """Create a throwaway database on the external server; return (its url, admin url)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"audiocity_test_{uuid.uuid4().hex[:10]}"
    base = make_url(async_url(url))
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def create() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return base.set(database=name).render_as_string(hide_password=False), admin_dsn


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audiocity-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    external = os.environ.get("DATABASE_URL")
    if external:
        url, admin_dsn = _external_database(external)
        migrate.upgrade(url)
        yield url
        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(admin_dsn)
            try:
                name = url.rsplit("/", 1)[1].split("?")[0]
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())
        return
    server = start_postgres(data_dir)
    migrate.upgrade(server.url)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    server = start_redis(data_dir)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
async def has_pgvector(engine: AsyncEngine) -> bool:
    """Whether the test database has pgvector: the embedded PostgreSQL always does; a server given by
    DATABASE_URL may not, and then the app runs without meaning search (its migration skips the table)."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT to_regclass('embeddings') IS NOT NULL")))


@pytest.fixture
def requires_pgvector(has_pgvector: bool) -> None:
    """For meaning-search tests: they need the vector tables, which only a server with pgvector has."""
    if not has_pgvector:
        pytest.skip("this PostgreSQL has no pgvector, so meaning search is off (the embedded one has it)")


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test."""
    async with sessions() as s:
        yield s
        await s.rollback()


@pytest.fixture(scope="session")
def session_broker(redis_url: str) -> RedisBroker:
    return brokers.make_broker(redis_url)


@pytest.fixture
def broker(session_broker: RedisBroker) -> Iterator[RedisBroker]:
    """The app's Dramatiq broker on the test Redis (the current one), with an empty queue before and after."""
    broker = session_broker
    dramatiq.set_broker(broker)
    broker.flush(tasks.QUEUE)
    yield broker
    broker.flush(tasks.QUEUE)


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for tests that talk to a running `audiocity serve`."""
    async with httpx.AsyncClient(timeout=60) as client:
        yield client
