"""Checkout, orders and entitlements."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.db import after_commit
from audiocity.events import Publishes, order_channel
from audiocity.models import (
    Audiobook,
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    PaymentProvider,
    utcnow,
)
from audiocity.services.cart import cart_books, cart_for_user
from audiocity.services.entitlements import grant
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import Page, decode_time_cursor, encode_cursor, page_size


def order_payload(order: Order) -> dict[str, Any]:
    return order.model_dump(mode="json")


async def _existing(session: AsyncSession, user_id: uuid.UUID, key: str) -> Order | None:
    return (
        await session.execute(select(Order).where(Order.user_id == user_id, Order.idempotency_key == key))
    ).scalar_one_or_none()


async def checkout(
    session: AsyncSession,
    events: Publishes,
    *,
    user_id: uuid.UUID,
    provider: PaymentProvider,
    idempotency_key: str,
) -> Order:
    """Turn the cart into an order at today's catalog prices; the cart row lock serialises checkouts."""
    key = idempotency_key.strip()
    if not key or len(key) > 200:
        raise ServiceError(ErrorCode.INVALID, "idempotencyKey must be 1 to 200 characters.", "idempotencyKey")
    if provider is not PaymentProvider.TEST:
        raise ServiceError(ErrorCode.UNSUPPORTED_PROVIDER, f"Payment provider {provider} is not enabled.", "provider")
    cart = await cart_for_user(session, user_id, lock=True)
    existing = await _existing(session, user_id, key)
    if existing is not None:
        return existing
    books = [b for b in await cart_books(session, cart.id) if b.published]
    if not books:
        raise ServiceError(ErrorCode.EMPTY_CART, "Your cart is empty.")
    currencies = {b.currency for b in books}
    if len(currencies) > 1:
        raise ServiceError(ErrorCode.INVALID, "All items in one order must share a currency.")
    order = Order(
        user_id=user_id,
        provider=provider,
        idempotency_key=key,
        total_cents=sum(b.price_cents for b in books),
        currency=currencies.pop(),
    )
    session.add(order)
    await session.flush()
    for book in books:
        session.add(
            OrderLine(
                order_id=order.id,
                audiobook_id=book.id,
                title=book.title,
                price_cents=book.price_cents,
                currency=book.currency,
            )
        )
    await session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))  # type: ignore[arg-type]
    # The TEST provider settles at once; real providers settle from their webhook.
    order.status = OrderStatus.PAID
    order.paid_at = utcnow()
    await grant(session, user_id, [b.id for b in books], order.id)
    await session.flush()
    payload = order_payload(order)

    async def announce() -> None:
        await events.publish([order_channel(order.id)], payload)

    after_commit(session, announce)
    return order


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, viewer_id: uuid.UUID, admin: bool) -> Order:
    order = await session.get(Order, order_id)
    if order is None or (not admin and order.user_id != viewer_id):
        raise NotFound("Order")
    return order


async def lines_for_orders(session: AsyncSession, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[OrderLine]]:
    rows = await session.execute(
        select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.title)  # type: ignore[attr-defined]
    )
    out: dict[uuid.UUID, list[OrderLine]] = {i: [] for i in order_ids}
    for line in rows.scalars():
        out[line.order_id].append(line)
    return out


async def list_orders(
    session: AsyncSession, *, viewer_id: uuid.UUID, admin: bool, first: int | None, after: str | None
) -> Page[Order]:
    limit = page_size(first)
    conditions: list[Any] = [] if admin else [Order.user_id == viewer_id]
    query = select(Order).where(*conditions)
    if after:
        created, last_id = decode_time_cursor(after)
        query = query.where(func.row(Order.created_at, Order.id) < func.row(created, last_id))
    rows = list(
        (
            await session.execute(
                query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
            )
        ).scalars()
    )
    items = rows[:limit]
    total = await session.scalar(select(func.count()).select_from(Order).where(*conditions))
    return Page(
        items=items,
        cursors=[encode_cursor([o.created_at.isoformat(), str(o.id)]) for o in items],
        has_next_page=len(rows) > limit,
        total_count=int(total or 0),
    )


async def books_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Audiobook]:
    rows = await session.execute(select(Audiobook).where(Audiobook.id.in_(ids)))  # type: ignore[attr-defined]
    return {b.id: b for b in rows.scalars()}
