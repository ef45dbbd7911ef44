"""Checkout as three short steps, so no transaction waits for the payment provider.

1. Place the PENDING order (cart lock, lines, cart emptied, expiry sweep in the outbox) and commit:
   the cart lock and the pool connection are released before the provider is called.
2. Ask the provider for a checkout session, outside any transaction, with the order's idempotency key.
3. Store the session on the order in a second, short transaction.

A crash between 1 and 3 leaves a PENDING order without a session; the client's retry with the same
`idempotencyKey` finds that order and repeats step 2, which the provider answers with the same
session (same idempotency key), so there is still one order and one session. An order nobody retries
is cancelled by the expiry sweep like any unpaid order. A provider that refuses the order (step 2
fails) gets the order deleted and the books put back in the cart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.events import Publishes
from audiocity.models import Order, PaymentProvider
from audiocity.payments.base import PaymentGateway
from audiocity.services import orders
from audiocity.services.errors import ServiceError


async def checkout(
    sessions: async_sessionmaker[AsyncSession],
    events: Publishes,
    *,
    user_id: uuid.UUID,
    provider: PaymentProvider,
    idempotency_key: str,
    gateways: Mapping[PaymentProvider, PaymentGateway],
    customer_email: str | None = None,
    pending_ttl: timedelta = orders.DEFAULT_PENDING_TTL,
) -> Order:
    async with session_scope(sessions) as session:
        placed = await orders.place_order(
            session, events, user_id=user_id, provider=provider, idempotency_key=idempotency_key,
            gateways=gateways, customer_email=customer_email, pending_ttl=pending_ttl,
        )  # fmt: skip
    if placed.payment is None:
        return placed.order
    try:
        payment = await orders.request_payment(gateways, provider, placed.payment)
    except ServiceError:
        async with session_scope(sessions) as session:
            await orders.abandon_order(session, placed.order.id)
        raise
    async with session_scope(sessions) as session:
        return await orders.record_payment(session, events, placed.order.id, payment)
