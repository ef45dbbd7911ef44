"""`audiocity seed-demo`: published books with audio and queued work, created once however often it runs."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.audio import probe
from audiocity.clips import find_silences
from audiocity.models import Audiobook, AudioFile, Job
from audiocity.seed import demo_books, seed
from audiocity.storage.local import LocalStorage


async def test_seed_demo_creates_published_books_with_audio_once(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "storage", "secret", "http://test")
    assert len({b.data.title for b in demo_books(40)}) == 40  # a few dozen distinct books
    run = uuid.uuid4().hex[:8]  # titles of their own: the test database is shared
    books = [replace(b, data=replace(b.data, title=f"{b.data.title} {run}")) for b in demo_books(2)]
    titles = [b.data.title for b in books]

    assert await seed(sessions, storage, books, speech=False) == titles
    assert await seed(sessions, storage, books, speech=False) == []  # the second run adds nothing

    async with sessions() as s:
        rows = (await s.execute(select(Audiobook).where(col(Audiobook.title).in_(titles)))).scalars().all()
        assert sorted(b.title for b in rows) == sorted(titles)
        for book in rows:
            assert book.published and book.authors and book.price_cents > 0
            files = (
                (
                    await s.execute(
                        select(AudioFile)
                        .where(col(AudioFile.audiobook_id) == book.id)
                        .order_by(col(AudioFile.position))
                    )
                )
                .scalars()
                .all()
            )
            assert [f.file_name for f in files] == ["part-1.mp3", "part-2.mp3"]
            assert await s.scalar(select(func.count()).select_from(Job).where(col(Job.audiobook_id) == book.id)) == 1
            local = storage.local_path(files[0].storage_key)
            assert local is not None and probe(local).duration_seconds > 5
            # two chapters per file, each followed by a pause the chapter step can find
            assert len(find_silences(local, min_seconds=2.0)) == 2
