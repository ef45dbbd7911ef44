"""Carts: one per signed-in user. Digital goods, so each book is in a cart at most once."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, Cart, CartItem, utcnow
from audiocity.services.entitlements import is_entitled
from audiocity.services.errors import ErrorCode, NotFound, ServiceError


async def cart_for_user(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> Cart:
    """Get or create the user's cart; concurrent first calls converge on one row."""
    await session.execute(insert(Cart).values(id=uuid.uuid4(), user_id=user_id).on_conflict_do_nothing())
    query = select(Cart).where(Cart.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


async def cart_books(session: AsyncSession, cart_id: uuid.UUID) -> list[Audiobook]:
    rows = await session.execute(
        select(Audiobook)
        .join(CartItem, CartItem.audiobook_id == Audiobook.id)  # type: ignore[arg-type]
        .where(CartItem.cart_id == cart_id)
        .order_by(CartItem.added_at, CartItem.id)  # type: ignore[arg-type]
    )
    return list(rows.scalars())


async def add_to_cart(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Cart:
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    if not book.published:
        raise ServiceError(ErrorCode.NOT_PUBLISHED, "This audiobook is not for sale yet.", "audiobookId")
    if await is_entitled(session, user_id, audiobook_id):
        raise ServiceError(ErrorCode.ALREADY_OWNED, "You already own this audiobook.", "audiobookId")
    cart = await cart_for_user(session, user_id)
    result = await session.execute(
        insert(CartItem)
        # added_at from the clock, not the server default now() (the transaction start), so that
        # several books added in one unit of work keep the order they were added in
        .values(id=uuid.uuid4(), cart_id=cart.id, audiobook_id=audiobook_id, added_at=utcnow())
        .on_conflict_do_nothing()
        .returning(CartItem.id)
    )
    if result.scalar_one_or_none() is None:
        raise ServiceError(ErrorCode.ALREADY_IN_CART, "This audiobook is already in your cart.", "audiobookId")
    return cart


async def remove_from_cart(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Cart:
    cart = await cart_for_user(session, user_id)
    await session.execute(
        delete(CartItem).where(CartItem.cart_id == cart.id, CartItem.audiobook_id == audiobook_id)  # type: ignore[arg-type]
    )
    return cart


async def clear_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart:
    cart = await cart_for_user(session, user_id)
    await session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))  # type: ignore[arg-type]
    return cart
