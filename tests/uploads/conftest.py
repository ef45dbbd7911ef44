"""Fixtures for upload tests: a book, admins, storage, and a broker whose queue starts empty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.models import Audiobook, Role, User
from audiocity.storage.local import LocalStorage
from tests.factories import make_book, make_user
from tests.fakes.recording import RecordingPublisher


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", "test-secret-" + "x" * 32, "http://testserver")


def stored_files(storage: LocalStorage) -> list[Path]:
    """Every file under the storage root, partial uploads included."""
    return sorted(p for p in storage.root.rglob("*") if p.is_file()) if storage.root.exists() else []


@pytest.fixture
async def book(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Audiobook]:
    async with session_scope(sessions) as session:
        created = await make_book(session)
    yield created
    async with session_scope(sessions) as session:
        row = await session.get(Audiobook, created.id)
        if row is not None:
            await session.delete(row)


@pytest.fixture
async def admin(sessions: async_sessionmaker[AsyncSession]) -> User:
    async with session_scope(sessions) as session:
        return await make_user(session, Role.ADMIN)


@pytest.fixture
async def other_admin(sessions: async_sessionmaker[AsyncSession]) -> User:
    async with session_scope(sessions) as session:
        return await make_user(session, Role.ADMIN)
