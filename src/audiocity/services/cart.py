"""Carts: one per signed-in user, or a guest cart held by an opaque token the client keeps.

Digital goods, so each book is in a cart at most once. Guest tokens are random and only their
SHA-256 is stored; signing in merges the guest cart into the user's (owned, unpublished and
duplicate books are skipped) and deletes it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Audiobook, Cart, CartItem, utcnow
from audiocity.services.entitlements import is_entitled, owned_book_ids
from audiocity.services.errors import ErrorCode, NotFound, ServiceError

GUEST_TOKEN_MAX_LENGTH = 200


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    book: Audiobook


@dataclass(frozen=True)
class GuestCart:
    cart: Cart
    new_token: str | None  # set when this call created the cart: the client must keep it


def hash_guest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def cart_for_user(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> Cart:
    """Get or create the user's cart; concurrent first calls converge on one row."""
    await session.execute(insert(Cart).values(id=uuid.uuid4(), user_id=user_id).on_conflict_do_nothing())
    query = select(Cart).where(col(Cart.user_id) == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


async def guest_cart(session: AsyncSession, token: str | None, *, lock: bool = False) -> Cart | None:
    """The guest cart a token names, if any (an unknown or malformed token names none)."""
    if not token or len(token) > GUEST_TOKEN_MAX_LENGTH:
        return None
    query = select(Cart).where(col(Cart.guest_token_hash) == hash_guest_token(token), col(Cart.user_id).is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def new_guest_cart(session: AsyncSession) -> tuple[Cart, str]:
    token = secrets.token_urlsafe(32)
    cart = Cart(guest_token_hash=hash_guest_token(token))
    session.add(cart)
    await session.flush()
    return cart, token


async def cart_lines(session: AsyncSession, cart_id: uuid.UUID) -> list[CartLine]:
    rows = await session.execute(
        select(CartItem, Audiobook)
        .join(Audiobook, col(CartItem.audiobook_id) == col(Audiobook.id))
        .where(col(CartItem.cart_id) == cart_id)
        .order_by(col(CartItem.added_at), col(CartItem.id))
    )
    return [CartLine(item, book) for item, book in rows.all()]


async def cart_books(session: AsyncSession, cart_id: uuid.UUID) -> list[Audiobook]:
    return [line.book for line in await cart_lines(session, cart_id)]


async def _add(session: AsyncSession, cart: Cart, audiobook_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    if not book.published:
        raise ServiceError(ErrorCode.NOT_PUBLISHED, "This audiobook is not for sale yet.", "audiobookId")
    if user_id is not None and await is_entitled(session, user_id, audiobook_id):
        raise ServiceError(ErrorCode.ALREADY_OWNED, "You already own this audiobook.", "audiobookId")
    result = await session.execute(
        insert(CartItem)
        # added_at from the clock, not the server default now() (the transaction start), so that
        # several books added in one unit of work keep the order they were added in
        .values(
            id=uuid.uuid4(),
            cart_id=cart.id,
            audiobook_id=audiobook_id,
            added_at=utcnow(),
            added_price_cents=book.price_cents,
            added_currency=book.currency,
        )
        .on_conflict_do_nothing()
        .returning(col(CartItem.id))
    )
    if result.scalar_one_or_none() is None:
        raise ServiceError(ErrorCode.ALREADY_IN_CART, "This audiobook is already in your cart.", "audiobookId")


async def add_to_cart(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Cart:
    cart = await cart_for_user(session, user_id)
    await _add(session, cart, audiobook_id, user_id)
    return cart


async def add_to_guest_cart(session: AsyncSession, token: str | None, audiobook_id: uuid.UUID) -> GuestCart:
    """Add to the token's cart; without a (known) token, start a new guest cart and hand out its token."""
    cart = await guest_cart(session, token)
    new_token = None
    if cart is None:  # a refused add raises, and the unit of work rolls the new cart back
        cart, new_token = await new_guest_cart(session)
    await _add(session, cart, audiobook_id, None)
    return GuestCart(cart, new_token)


async def _remove(session: AsyncSession, cart: Cart, audiobook_id: uuid.UUID | None) -> None:
    query = delete(CartItem).where(col(CartItem.cart_id) == cart.id)
    if audiobook_id is not None:
        query = query.where(col(CartItem.audiobook_id) == audiobook_id)
    await session.execute(query)


async def remove_from_cart(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Cart:
    cart = await cart_for_user(session, user_id)
    await _remove(session, cart, audiobook_id)
    return cart


async def clear_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart:
    cart = await cart_for_user(session, user_id)
    await _remove(session, cart, None)
    return cart


async def remove_from_guest_cart(session: AsyncSession, token: str | None, audiobook_id: uuid.UUID) -> Cart | None:
    cart = await guest_cart(session, token)
    if cart is not None:
        await _remove(session, cart, audiobook_id)
    return cart


async def clear_guest_cart(session: AsyncSession, token: str | None) -> Cart | None:
    cart = await guest_cart(session, token)
    if cart is not None:
        await _remove(session, cart, None)
    return cart


@dataclass(frozen=True)
class MergeResult:
    merged: list[uuid.UUID]
    skipped: list[uuid.UUID]  # already in the user's cart, owned, or no longer for sale


async def merge_guest_cart(session: AsyncSession, user_id: uuid.UUID, token: str | None) -> MergeResult | None:
    """Move a guest cart's books into the user's cart and delete the guest cart (None: no such cart).

    The guest cart row is locked, so two sign-ins racing with one token merge it once.
    """
    guest = await guest_cart(session, token, lock=True)
    if guest is None:
        return None
    cart = await cart_for_user(session, user_id, lock=True)
    lines = await cart_lines(session, guest.id)
    book_ids = [line.book.id for line in lines]
    owned = await owned_book_ids(session, user_id, book_ids)
    wanted = [line for line in lines if line.book.published and line.book.id not in owned]
    merged: list[uuid.UUID] = []
    if wanted:
        result = await session.execute(
            insert(CartItem)
            .values(
                [
                    {
                        "id": uuid.uuid4(),
                        "cart_id": cart.id,
                        "audiobook_id": line.book.id,
                        "added_at": line.item.added_at,
                        "added_price_cents": line.item.added_price_cents,
                        "added_currency": line.item.added_currency,
                    }
                    for line in wanted
                ]
            )
            .on_conflict_do_nothing()
            .returning(col(CartItem.audiobook_id))
        )
        merged = list(result.scalars())
    await session.execute(delete(Cart).where(col(Cart.id) == guest.id))
    return MergeResult(merged=[i for i in book_ids if i in merged], skipped=[i for i in book_ids if i not in merged])


async def delete_stale_guest_carts(session: AsyncSession, created_before: datetime) -> int:
    """Guest carts are not kept forever: the sweeper drops those older than a cut-off."""
    result = await session.execute(
        delete(Cart).where(col(Cart.user_id).is_(None), col(Cart.created_at) < created_before).returning(col(Cart.id))
    )
    return len(result.scalars().all())
