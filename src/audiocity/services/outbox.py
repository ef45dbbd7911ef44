"""The transactional outbox: work that must happen after a commit is written in the same transaction.

`add` writes an `outbox` row in the caller's transaction and, once that transaction commits, tries
to hand the message to the broker at once (the fast path) and deletes the row. When the broker is
down or the process dies before that, the row stays and the relay (workers/relay.py) sends it
later. A message may thus be sent twice (fast path and relay racing), never zero times: every actor
fed from here is idempotent (a finished job or an already-cancelled order is a no-op).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import dramatiq.broker
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.db import after_commit
from audiocity.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

# The relay leaves younger rows to the fast path of the transaction that wrote them.
RELAY_GRACE = timedelta(seconds=2)
Send = Callable[[str, list[Any], int | None], None]


def delay_until(not_before: datetime, now: datetime) -> int | None:
    ms = int((not_before - now).total_seconds() * 1000)
    return min(ms, tasks.MAX_DELAY_MS) if ms > 0 else None


def broker_send(actor_name: str, args: list[Any], delay_ms: int | None) -> None:
    tasks.send(actor_name, *args, delay=delay_ms)


async def add(session: AsyncSession, actor_name: str, *args: Any, not_before: datetime | None = None) -> OutboxMessage:
    """Promise a message to `actor_name`, delivered no earlier than `not_before`, if the transaction commits."""
    row = OutboxMessage(actor_name=actor_name, args=list(args), not_before=not_before or utcnow())
    session.add(row)
    await session.flush()
    row_id, row_args, when = row.id, list(row.args), row.not_before

    async def send_now() -> None:
        if dramatiq.broker.global_broker is None:
            return  # no broker in this process: the relay sends it
        try:
            broker_send(actor_name, row_args, delay_until(when, utcnow()))
        except Exception as exc:
            log.warning("could not send %s now (%s); the outbox relay will send it", actor_name, exc)
            return
        await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == row_id))
        await session.commit()

    after_commit(session, send_now)
    return row


async def relay(
    session: AsyncSession, send: Send = broker_send, *, batch: int = 100, now: datetime | None = None
) -> int:
    """Send a batch of rows the fast path left behind and delete them; returns how many were sent.

    Rows are locked with SKIP LOCKED, so two relays never send the same row at once. A send that
    fails stops the batch; what was sent before it is deleted, the rest waits for the next pass.
    """
    now = now or utcnow()
    rows = list(
        (
            await session.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.created_at) <= now - RELAY_GRACE)
                .order_by(col(OutboxMessage.created_at))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    sent: list[uuid.UUID] = []
    for row in rows:
        try:
            send(row.actor_name, list(row.args), delay_until(row.not_before, now))
        except Exception as exc:
            log.warning("outbox relay could not send %s: %s", row.actor_name, exc)
            await session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id)
                .values(attempts=col(OutboxMessage.attempts) + 1)
            )
            break
        sent.append(row.id)
    if sent:
        await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(sent)))
        log.info("outbox relay sent %d message(s)", len(sent))
    return len(sent)


async def pending(session: AsyncSession, actor_name: str | None = None) -> list[OutboxMessage]:
    """Rows not sent yet (oldest first)."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.created_at))
    if actor_name is not None:
        query = query.where(col(OutboxMessage.actor_name) == actor_name)
    return list((await session.execute(query)).scalars())
