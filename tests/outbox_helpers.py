"""Test support for processes that run the outbox relay against the shared test database."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from audiocity.db import async_url


def empty_outbox(database_url: str | None) -> None:
    """Drop unsent outbox rows before starting a worker process on the shared test database.

    Tests that call services without a broker leave rows behind; a relay would send them, and its
    worker would run other tests' jobs. Runs on a thread of its own, so it works inside or outside a loop.
    """
    if not database_url:
        return

    async def run() -> None:
        engine = create_async_engine(async_url(database_url), poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                if await conn.scalar(text("SELECT to_regclass('outbox') IS NOT NULL")):
                    await conn.execute(text("DELETE FROM outbox"))
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    thread.join()
