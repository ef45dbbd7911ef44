"""`audiocity seed-demo`: a few published audiobooks so a fresh install has something to browse."""

from __future__ import annotations

import asyncio

from audiocity import migrate
from audiocity.config import Settings
from audiocity.db import make_engine, make_sessionmaker, session_scope
from audiocity.runtime import database_url
from audiocity.services.catalog import AudiobookInput, create_audiobook

DEMO_BOOKS = [
    AudiobookInput(title="The Lighthouse Keeper", authors=["Mara Quell"], narrators=["Tom Reed"],
                   categories=["Fiction"], price_cents=1299, description="A keeper and a long winter."),
    AudiobookInput(title="Rivers of the North", authors=["Ansel Brook"], narrators=["Ida Vale"],
                   categories=["Travel", "Nature"], price_cents=1899, description="A journey by canoe."),
    AudiobookInput(title="The City Library", authors=["June Park"], narrators=["June Park"],
                   categories=["History"], price_cents=999, description="Stories of a public library."),
]  # fmt: skip


def seed_demo(settings: Settings) -> None:
    url = database_url(settings)
    migrate.upgrade(url)

    async def run() -> None:
        engine = make_engine(url, pool_size=1)
        try:
            async with session_scope(make_sessionmaker(engine)) as s:
                for data in DEMO_BOOKS:
                    book = await create_audiobook(s, data)
                    print(f"created draft {book.title!r} (upload audio, then publish)")
        finally:
            await engine.dispose()

    asyncio.run(run())
