"""DATABASE_READ_URL: customers' and guests' catalog reads go to the replica, admins' to the primary.

The "replica" here is a second database on the same PostgreSQL holding a book the primary lacks, so
each answer shows which database it came from.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from audiocity import migrate
from audiocity.auth.tokens import create_access_token
from audiocity.db import async_url, make_engine, make_sessionmaker, session_scope
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from audiocity.models import Audiobook, Role
from audiocity.services import accounts, catalog
from audiocity.services.catalog import AudiobookInput
from tests.app_resources import in_process_resources

SECRET = "replica-test-secret-0123456789abcdef0123"


def request_with(token: str | None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})


@pytest.fixture
async def replica(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    name = f"audiocity_replica_{uuid.uuid4().hex[:8]}"
    base = make_url(async_url(database_url))
    admin_dsn = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = base.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url, pool_size=1)
    yield make_sessionmaker(engine)
    await engine.dispose()
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def published(sessions: async_sessionmaker[AsyncSession], title: str) -> None:
    async with session_scope(sessions) as s:
        book = await catalog.create_audiobook(s, AudiobookInput(title=title, price_cents=100))
        row = await s.get(Audiobook, book.id)
        assert row is not None
        row.published = True


async def test_catalog_reads_follow_the_viewer(
    sessions: async_sessionmaker[AsyncSession], replica: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    await published(sessions, f"Primary {marker}")
    await published(replica, f"Replica {marker}")
    async with session_scope(sessions) as s:
        admin = await accounts.create_user(s, f"{uuid.uuid4()}@example.com", "admin password", "A", Role.ADMIN)
    resources = in_process_resources(sessions, tmp_path, SECRET, replica_sessions=replica)
    query = f'{{ audiobooks(first: 5, search: "{marker}") {{ edges {{ node {{ title }} }} }} }}'

    async def titles(token: str | None) -> list[str]:
        result = await build_schema().execute(
            query, context_value=Context(resources=resources, request=request_with(token))
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        return [e["node"]["title"] for e in result.data["audiobooks"]["edges"]]

    assert await titles(None) == [f"Replica {marker}"]
    admin_token = create_access_token(SECRET, admin.id, admin.role.value, 60)
    assert await titles(admin_token) == [f"Primary {marker}"]

    resources.replica_sessions = None  # not configured: everyone reads the primary
    assert await titles(None) == [f"Primary {marker}"]
