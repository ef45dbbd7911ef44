"""Small builders for service tests: unique data, so tests can share one database."""

from __future__ import annotations

import random
import string
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, AudioFile, Role, User
from audiocity.services import catalog
from audiocity.services.catalog import AudiobookInput


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_email() -> str:
    return f"{unique('user')}@example.com"


def random_word(length: int = 12) -> str:
    """Letters only, so the full-text parser keeps it as one plain word no other test uses."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=length))


async def make_user(session: AsyncSession, role: Role = Role.CUSTOMER) -> User:
    """A user without a password (no hashing cost) for tests that only need an owner."""
    user = User(email=unique_email(), display_name="Tester", role=role)
    session.add(user)
    await session.flush()
    return user


async def make_book(
    session: AsyncSession,
    *,
    title: str | None = None,
    price_cents: int = 999,
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    currency: str | None = None,
) -> Audiobook:
    return await catalog.create_audiobook(
        session,
        AudiobookInput(
            title=title or unique("Book"),
            price_cents=price_cents,
            authors=authors,
            categories=categories,
            currency=currency,
        ),
    )


async def attach_file(
    session: AsyncSession, book: Audiobook, *, position: int = 0, duration: float = 60.0
) -> AudioFile:
    """An audio file row without a stored object: enough for publishing and stitching."""
    audio_file = AudioFile(
        audiobook_id=book.id,
        position=position,
        file_name=f"part-{position}.mp3",
        content_type="audio/mpeg",
        size_bytes=1000,
        duration_seconds=duration,
        storage_key=unique("test/objects/file") + ".mp3",
    )
    session.add(audio_file)
    await session.flush()
    return audio_file


async def make_published_book(
    session: AsyncSession,
    *,
    title: str | None = None,
    price_cents: int = 999,
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    currency: str | None = None,
) -> Audiobook:
    book = await make_book(
        session,
        title=title,
        price_cents=price_cents,
        authors=authors,
        categories=categories,
        currency=currency,
    )
    await attach_file(session, book)
    return await catalog.publish_audiobook(session, book.id, True)
