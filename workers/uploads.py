"""The upload sweeper: expires abandoned uploads (deleting their bytes) and purges old upload sessions.

A self-renewing periodic actor. Every worker start-up sends one `expire_uploads` message
(`start_upload_cleanup`, called by `workers.broker.setup_broker`). Each run first takes a Redis
lease a little shorter than the interval; if it gets it, it sweeps and sends itself again
UPLOAD_CLEANUP_INTERVAL_SECONDS later, and if it does not (another chain ran moments ago) it just
ends. So however many workers start, one chain survives; if its delayed message is ever lost, the
next worker start begins a new one. Unlike one delayed message per upload, this also covers the
purge of closed sessions a week later and needs nothing from the API process.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity import tasks
from audiocity.db import session_scope
from audiocity.models import utcnow
from audiocity.services import uploads
from audiocity.storage import Storage
from audiocity.tasks import EXPIRE_UPLOADS
from workers import resources

log = logging.getLogger(__name__)

LEASE_KEY = "audiocity:expire-uploads:lease"
BATCH = 100


def lease_ms(interval_seconds: float) -> int:
    """Shorter than the interval, so the chain's own next run always finds the lease free again."""
    return max(1, int(interval_seconds * 900))


def send(broker: dramatiq.Broker, delay_ms: int | None = None) -> None:
    tasks.send(EXPIRE_UPLOADS, delay=delay_ms, broker=broker)


def start_upload_cleanup(broker: dramatiq.Broker) -> None:
    """Start (or join) the sweeping chain; called once per worker start-up."""
    send(broker)


def take_lease(broker: dramatiq.Broker, interval_seconds: float) -> bool:
    if not isinstance(broker, RedisBroker):
        return True
    return bool(broker.client.set(LEASE_KEY, "1", nx=True, px=lease_ms(interval_seconds)))


async def sweep(
    sessions: async_sessionmaker[AsyncSession], storage: Storage, *, now: datetime, retention_seconds: int
) -> int:
    """Expire and purge in batches of BATCH, each its own transaction; returns the sessions handled."""
    total = 0
    while True:
        async with session_scope(sessions) as session:
            handled = await uploads.expire_uploads(
                session, storage, now=now, retention_seconds=retention_seconds, batch=BATCH
            )
        total += handled
        if handled < BATCH:
            return total


@dramatiq.actor(actor_name=EXPIRE_UPLOADS, max_retries=0, time_limit=30 * 60 * 1000)
async def expire_uploads() -> None:
    broker = dramatiq.get_broker()
    res = resources.current()
    interval = res.settings.upload_cleanup_interval_seconds
    if not await asyncio.to_thread(take_lease, broker, interval):
        return
    try:
        handled = await sweep(
            res.sessions, res.storage, now=utcnow(), retention_seconds=res.settings.upload_retention_seconds
        )
        if handled:
            log.info("expired or purged %d upload sessions", handled)
    finally:
        send(broker, delay_ms=interval * 1000)
