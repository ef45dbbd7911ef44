"""The order sweeper: cancels unpaid orders past their deadline and drops stale guest carts.

Each pending order schedules one delayed run for its own deadline (services.orders), so the
sweep happens when there is something to expire and costs nothing otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import dramatiq

from audiocity import tasks
from audiocity.db import session_scope
from audiocity.models import utcnow
from audiocity.services import cart, orders
from workers import resources

GUEST_CART_TTL = timedelta(days=30)


@dramatiq.actor(actor_name=tasks.EXPIRE_PENDING_ORDERS, max_retries=3, min_backoff=5_000, time_limit=300_000)
async def expire_pending_orders() -> None:
    res = resources.current()
    now = utcnow()
    async with session_scope(res.sessions) as session:
        await orders.expire_pending_orders(session, res.events, now)
        await cart.delete_stale_guest_carts(session, now - GUEST_CART_TTL)
