"""Builders for library tests: unique rows, so tests can share one database."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, AudioFile, Role, Transcript, TranscriptStatus, User
from audiocity.services import catalog
from audiocity.services.catalog import AudiobookInput


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def make_user(session: AsyncSession, role: Role = Role.CUSTOMER) -> User:
    user = User(email=f"{unique('reader')}@example.com", display_name="Reader", role=role)
    session.add(user)
    await session.flush()
    return user


async def make_book(session: AsyncSession, title: str | None = None, price_cents: int = 999) -> Audiobook:
    return await catalog.create_audiobook(
        session, AudiobookInput(title=title or unique("Book"), price_cents=price_cents)
    )


async def add_file(
    session: AsyncSession,
    book: Audiobook,
    *,
    position: int,
    duration: float = 60.0,
    size: int = 1000,
    file_name: str | None = None,
) -> AudioFile:
    """An audio file row; the object is written by the caller where a test needs the bytes."""
    file_id = uuid.uuid4()
    audio_file = AudioFile(
        id=file_id,
        audiobook_id=book.id,
        position=position,
        file_name=file_name or f"part-{position + 1}.mp3",
        content_type="audio/mpeg",
        size_bytes=size,
        duration_seconds=duration,
        storage_key=f"audiobooks/{book.id}/files/{file_id}.mp3",
    )
    session.add(audio_file)
    await session.flush()
    return audio_file


async def mark_transcribed(session: AsyncSession, book: Audiobook, text: str, vtt: str) -> None:
    """What the worker leaves behind in the database (the caller writes the objects)."""
    session.add(Transcript(audiobook_id=book.id, text=text, vtt=vtt))
    book.transcript_status = TranscriptStatus.READY
    await session.flush()
