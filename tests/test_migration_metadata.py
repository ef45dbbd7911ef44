"""Migration 0010_metadata copies the credits already in the `authors` / `narrators` arrays into rows,
and can be rolled back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from audiocity import migrate
from audiocity.db import async_url


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards."""
    name = f"audiocity_mig_{uuid.uuid4().hex[:10]}"
    base = make_url(async_url(database_url))
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_existing_credits_become_rows(scratch_database: str) -> None:
    migrate.upgrade(scratch_database, "0009_passages")
    dsn = make_url(scratch_database).set(drivername="postgresql").render_as_string(hide_password=False)
    one, two = uuid.uuid4(), uuid.uuid4()

    async def seed() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            insert = """INSERT INTO audiobooks (id, title, description, authors, narrators, tags, language,
                price_cents, currency, duration_seconds, published, transcript_status, created_at)
                VALUES ($1, $2, '', $3, $4, '{}', 'en', 100, 'USD', 0, true, 'NONE', now())"""
            await conn.execute(insert, one, "One", ["Ada Quill", "Bo Reed"], ["Cy Vox"])
            await conn.execute(insert, two, "Two", ["ada quill"], ["Ada Quill", "Cy Vox"])
        finally:
            await conn.close()

    async def credits() -> list[tuple[str, str, int, str]]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                """SELECT b.title, ac.role::text, ac.position, c.name FROM audiobook_contributors ac
                   JOIN audiobooks b ON b.id = ac.audiobook_id JOIN contributors c ON c.id = ac.contributor_id
                   ORDER BY b.title, ac.role, ac.position"""
            )
            return [tuple(r) for r in rows]
        finally:
            await conn.close()

    asyncio.run(seed())
    migrate.upgrade(scratch_database)
    assert asyncio.run(credits()) == [
        ("One", "AUTHOR", 0, "Ada Quill"),
        ("One", "AUTHOR", 1, "Bo Reed"),
        ("One", "NARRATOR", 0, "Cy Vox"),
        ("Two", "AUTHOR", 0, "Ada Quill"),  # one person whatever the case
        ("Two", "NARRATOR", 0, "Ada Quill"),
        ("Two", "NARRATOR", 1, "Cy Vox"),
    ]
    # and it can be undone and redone
    command.downgrade(migrate.alembic_config(scratch_database), "0009_passages")
    migrate.upgrade(scratch_database)
    assert len(asyncio.run(credits())) == 6
