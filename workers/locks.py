"""One job per audiobook at a time, across every worker process: a PostgreSQL advisory lock.

Dramatiq's Redis broker can deliver a message twice (a worker whose heartbeat lapsed looks dead and
its message is requeued) and a book can have a running job while a newer one is queued. Two runs of
one book would send the same chunks twice, so a run first takes the book's session-level advisory
lock on a connection of its own. PostgreSQL drops the lock when that connection closes, which is
also what happens when a worker is killed: the next run never waits for a dead one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


def lock_key(audiobook_id: uuid.UUID) -> int:
    """A signed 64-bit key from the book's id (advisory locks take a bigint)."""
    return int.from_bytes(audiobook_id.bytes[:8], "big", signed=True)


@asynccontextmanager
async def book_lock(engine: AsyncEngine, audiobook_id: uuid.UUID, poll: float = POLL_SECONDS) -> AsyncIterator[None]:
    """Hold the book's lock for the block, waiting (without a transaction open) while another run has it."""
    key = {"key": lock_key(audiobook_id)}
    async with engine.connect() as conn:
        waited = False
        while not await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
            await conn.commit()  # never sit idle in a transaction while waiting
            if not waited:
                log.info("another worker is processing audiobook %s; waiting for it", audiobook_id)
                waited = True
            await asyncio.sleep(poll)
        await conn.commit()
        try:
            yield
        finally:
            try:
                await conn.scalar(text("SELECT pg_advisory_unlock(:key)"), key)
                await conn.commit()
            except Exception:
                # Never hand a connection that may still hold the lock back to the pool.
                log.warning("could not release the lock of audiobook %s; closing its connection", audiobook_id)
                await conn.invalidate()
