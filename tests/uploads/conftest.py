"""Fixtures for upload tests: a book, admins, storage, and a broker whose queue starts empty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity import jobs
from audiocity.db import session_scope
from audiocity.models import Audiobook, Role, User
from audiocity.storage.local import LocalStorage
from tests.services.factories import make_book, make_user

QUEUE_KEY = f"audiocity:{jobs.QUEUE}"


class RecordingPublisher:
    """A `Publishes` that remembers what would have gone out over Redis pub/sub."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        self.calls.append((channels, payload))


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    broker = jobs.make_broker(redis_url)
    broker.flush(jobs.QUEUE)
    yield broker
    broker.flush(jobs.QUEUE)


def queued_messages(broker: RedisBroker) -> list[dramatiq.Message[Any]]:
    messages = []
    for message_id in broker.client.lrange(QUEUE_KEY, 0, -1):
        data = broker.client.hget(f"{QUEUE_KEY}.msgs", message_id)
        assert isinstance(data, bytes)
        messages.append(dramatiq.Message.decode(data))
    return messages


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
