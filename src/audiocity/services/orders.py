"""Checkout, the order lifecycle (paid, failed, cancelled, refunded) and provider payment events.

Every status change happens with the order row locked and publishes an order event after the commit.
Entitlements are granted and revoked in the same transaction as the status change that causes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.db import after_commit
from audiocity.events import Publishes, order_channel
from audiocity.metrics import PAYMENTS
from audiocity.models import (
    Audiobook,
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    PaymentProvider,
    utcnow,
)
from audiocity.models.commerce import PaymentEventRecord
from audiocity.payments.base import (
    EventKind,
    LineItem,
    PaymentError,
    PaymentEvent,
    PaymentGateway,
    PaymentRequest,
    PaymentSession,
    RefundRequest,
)
from audiocity.services import outbox
from audiocity.services.cart import cart_for_user, cart_lines
from audiocity.services.entitlements import grant, owned_book_ids, revoke_for_order
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.notices import NoticeKind, queue_notice
from audiocity.services.pagination import Key, Page, id_key, keyset_page, time_key

log = logging.getLogger(__name__)

DEFAULT_PENDING_TTL = timedelta(hours=1)


def order_payload(order: Order) -> dict[str, Any]:
    return order.model_dump(mode="json")


def _announce(session: AsyncSession, events: Publishes, order: Order) -> None:
    """Publish the order's latest state once the transaction that changed it has committed (one event
    per order per transaction, however many steps changed it)."""
    latest: dict[uuid.UUID, dict[str, Any]] = session.info.setdefault("order_events", {})
    first = order.id not in latest
    latest[order.id] = order_payload(order)
    if not first:
        return
    order_id = order.id

    async def publish() -> None:
        payload = latest.pop(order_id)
        await events.publish([order_channel(order_id)], payload)

    after_commit(session, publish)


async def _set_status(
    session: AsyncSession, events: Publishes, order: Order, status: OrderStatus, now: datetime
) -> None:
    order.status = status
    order.updated_at = now
    await session.flush()
    _announce(session, events, order)
    _count_payment(session, order)


def _count_payment(session: AsyncSession, order: Order) -> None:
    """Payments by provider and outcome, counted once the change is committed."""
    provider, outcome = order.provider.value.lower(), order.status.value.lower()

    async def count() -> None:
        PAYMENTS.labels(provider, outcome).inc()

    after_commit(session, count)


async def _schedule_sweep(session: AsyncSession, at: datetime) -> None:
    """Ask a worker to sweep overdue orders just after `at`: an outbox row of this transaction."""
    await outbox.add(session, tasks.EXPIRE_PENDING_ORDERS, not_before=at + timedelta(seconds=1))


async def _existing(session: AsyncSession, user_id: uuid.UUID, key: str) -> Order | None:
    return (
        await session.execute(select(Order).where(col(Order.user_id) == user_id, col(Order.idempotency_key) == key))
    ).scalar_one_or_none()


@dataclass(frozen=True)
class PlacedOrder:
    """A committed order and, when the provider has not been asked yet, what to ask it."""

    order: Order
    payment: PaymentRequest | None


def _payment_request(order: Order, lines: list[OrderLine], customer_email: str | None) -> PaymentRequest:
    assert order.expires_at is not None
    return PaymentRequest(
        order_id=order.id,
        user_id=order.user_id,
        customer_email=customer_email,
        currency=order.currency,
        total_cents=order.total_cents,
        lines=[LineItem(line.title, line.price_cents) for line in lines],
        expires_at=order.expires_at,
    )


def _gateway(provider: PaymentProvider, gateways: Mapping[PaymentProvider, PaymentGateway]) -> PaymentGateway:
    gateway = gateways.get(provider)
    if gateway is None:
        raise ServiceError(ErrorCode.UNSUPPORTED_PROVIDER, f"Payment provider {provider} is not enabled.", "provider")
    return gateway


async def place_order(
    session: AsyncSession,
    events: Publishes,
    *,
    user_id: uuid.UUID,
    provider: PaymentProvider,
    idempotency_key: str,
    gateways: Mapping[PaymentProvider, PaymentGateway],
    customer_email: str | None = None,
    pending_ttl: timedelta = DEFAULT_PENDING_TTL,
    now: datetime | None = None,
) -> PlacedOrder:
    """Step 1 of checkout: turn the cart into a PENDING order at today's catalog prices.

    The cart row lock serialises checkouts of one user; commit this before asking the provider, so
    neither the lock nor a connection is held while it answers. A repeated key returns its order,
    with the payment still to ask for when an earlier attempt died before storing the provider's answer.
    """
    now = now or utcnow()
    key = idempotency_key.strip()
    if not key or len(key) > 200:
        raise ServiceError(ErrorCode.INVALID, "idempotencyKey must be 1 to 200 characters.", "idempotencyKey")
    _gateway(provider, gateways)
    cart = await cart_for_user(session, user_id, lock=True)
    existing = await _existing(session, user_id, key)
    if existing is not None:
        unasked = existing.status == OrderStatus.PENDING and existing.provider_reference is None
        kept = await _order_lines(session, existing.id) if unasked else []
        return PlacedOrder(existing, _payment_request(existing, kept, customer_email) if unasked else None)
    await expire_pending_orders(session, events, now, user_id=user_id)

    lines = [line for line in await cart_lines(session, cart.id) if line.book.published]
    owned = await owned_book_ids(session, user_id, [line.book.id for line in lines])
    buying = [line for line in lines if line.book.id not in owned]
    if not buying:
        raise ServiceError(ErrorCode.EMPTY_CART, "Your cart is empty.")
    currencies = {line.book.currency for line in buying}
    if len(currencies) > 1:
        raise ServiceError(ErrorCode.INVALID, "All items in one order must share a currency.")
    order = Order(
        user_id=user_id,
        provider=provider,
        idempotency_key=key,
        total_cents=sum(line.book.price_cents for line in buying),
        currency=currencies.pop(),
        created_at=now,
        updated_at=now,
        expires_at=now + pending_ttl,
    )
    session.add(order)
    await session.flush()
    order_lines = [
        OrderLine(
            order_id=order.id,
            audiobook_id=line.book.id,
            title=line.book.title,
            price_cents=line.book.price_cents,
            currency=line.book.currency,
            cart_price_cents=line.item.added_price_cents,
            cart_currency=line.item.added_currency,
        )
        for line in buying
    ]
    session.add_all(order_lines)
    done = [line.book.id for line in lines if line.book.id in owned] + [line.book.id for line in buying]
    await session.execute(
        delete(CartItem).where(col(CartItem.cart_id) == cart.id, col(CartItem.audiobook_id).in_(done))
    )
    assert order.expires_at is not None
    await _schedule_sweep(session, order.expires_at)
    await session.flush()
    _announce(session, events, order)
    return PlacedOrder(order, _payment_request(order, order_lines, customer_email))


async def request_payment(
    gateways: Mapping[PaymentProvider, PaymentGateway], provider: PaymentProvider, request: PaymentRequest
) -> PaymentSession:
    """Step 2: ask the provider, outside any transaction. Its idempotency key is the order's id, so
    asking again for the same order (a retry after a crash) returns the same session."""
    try:
        return await _gateway(provider, gateways).create_payment(request)
    except PaymentError as exc:
        raise ServiceError(ErrorCode.PAYMENT_PROVIDER_ERROR, str(exc), "provider") from exc


async def record_payment(
    session: AsyncSession, events: Publishes, order_id: uuid.UUID, payment: PaymentSession, now: datetime | None = None
) -> Order:
    """Step 3: store the provider's session on the order (a short transaction); settle it if paid."""
    now = now or utcnow()
    order = await _locked_order(session, Order.id == order_id)
    if order is None:
        raise NotFound("Order", "orderId")
    if order.provider_reference is not None:
        return order  # a concurrent retry stored it first (the same session, by the idempotency key)
    order.provider_reference = payment.provider_reference
    order.payment_reference = payment.payment_reference
    order.redirect_url = payment.redirect_url
    if payment.paid and order.status == OrderStatus.PENDING:
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.expires_at = None
        lines = await _order_lines(session, order.id)
        await grant(session, order.user_id, [line.audiobook_id for line in lines], order.id)
        await queue_notice(session, NoticeKind.ORDER_PAID, str(order.id))
        _count_payment(session, order)
    await session.flush()
    _announce(session, events, order)
    return order


async def abandon_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """The provider refused the order: delete it and put its books back in the cart as they were.

    Only an order the provider never accepted (no session stored, still PENDING) is removed.
    """
    order = await _locked_order(session, Order.id == order_id)
    if order is None or order.provider_reference is not None or order.status != OrderStatus.PENDING:
        return
    cart = await cart_for_user(session, order.user_id, lock=True)
    lines = await _order_lines(session, order.id)
    if lines:
        await session.execute(
            insert(CartItem)
            .values(
                [
                    {
                        "id": uuid.uuid4(),
                        "cart_id": cart.id,
                        "audiobook_id": line.audiobook_id,
                        "added_price_cents": line.cart_price_cents,
                        "added_currency": line.cart_currency,
                    }
                    for line in lines
                ]
            )
            .on_conflict_do_nothing()
        )
    await session.execute(delete(OrderLine).where(col(OrderLine.order_id) == order.id))
    await session.delete(order)
    await session.flush()


async def checkout(
    session: AsyncSession,
    events: Publishes,
    *,
    user_id: uuid.UUID,
    provider: PaymentProvider,
    idempotency_key: str,
    gateways: Mapping[PaymentProvider, PaymentGateway],
    customer_email: str | None = None,
    pending_ttl: timedelta = DEFAULT_PENDING_TTL,
    now: datetime | None = None,
) -> Order:
    """The three steps in the caller's one transaction, for callers that own a single session (scripts, tests).

    The API uses `services.checkout.checkout`, which commits between the steps. A provider error
    here rolls everything back: no order, the cart untouched.
    """
    placed = await place_order(
        session, events, user_id=user_id, provider=provider, idempotency_key=idempotency_key,
        gateways=gateways, customer_email=customer_email, pending_ttl=pending_ttl, now=now,
    )  # fmt: skip
    if placed.payment is None:
        return placed.order
    payment = await request_payment(gateways, provider, placed.payment)
    return await record_payment(session, events, placed.order.id, payment, now)


async def expire_pending_orders(
    session: AsyncSession, events: Publishes, now: datetime, *, user_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Cancel unpaid orders past their deadline (all, or one user's); returns their ids.

    Runs at each checkout for that user and from the `expire_pending_orders` actor, which every
    pending order schedules for its own deadline. A payment confirmed later still fulfils the order.
    """
    query = (
        update(Order)
        .where(col(Order.status) == OrderStatus.PENDING, col(Order.expires_at) <= now)
        .values(status=OrderStatus.CANCELLED, updated_at=now)
        .returning(Order)
        .execution_options(populate_existing=True)
    )
    if user_id is not None:
        query = query.where(col(Order.user_id) == user_id)
    expired = list((await session.execute(query)).scalars())
    for order in expired:
        _announce(session, events, order)
    if expired:
        log.info("cancelled %d unpaid orders past their deadline", len(expired))
    return [o.id for o in expired]


async def _locked_order(session: AsyncSession, *conditions: Any) -> Order | None:
    return (
        await session.execute(
            select(Order).where(*conditions).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _order_lines(session: AsyncSession, order_id: uuid.UUID) -> list[OrderLine]:
    return (await lines_for_orders(session, [order_id]))[order_id]


async def refund_order(
    session: AsyncSession,
    events: Publishes,
    order_id: uuid.UUID,
    *,
    gateways: Mapping[PaymentProvider, PaymentGateway],
    now: datetime | None = None,
) -> Order:
    """Refund a paid order in full through its provider and revoke what it granted."""
    now = now or utcnow()
    order = await _locked_order(session, col(Order.id) == order_id)
    if order is None:
        raise NotFound("Order", "orderId")
    if order.status is not OrderStatus.PAID:
        raise ServiceError(
            ErrorCode.NOT_REFUNDABLE, f"Only paid orders can be refunded; this one is {order.status}.", "orderId"
        )
    gateway = gateways.get(order.provider)
    if gateway is None:
        raise ServiceError(
            ErrorCode.UNSUPPORTED_PROVIDER, f"Payment provider {order.provider} is not enabled.", "orderId"
        )
    try:
        # the provider call is idempotent per order, so a retry after a failed commit refunds once
        result = await gateway.refund(
            RefundRequest(order.id, order.payment_reference, order.total_cents, order.currency)
        )
    except PaymentError as exc:
        raise ServiceError(ErrorCode.PAYMENT_PROVIDER_ERROR, str(exc), "orderId") from exc
    order.refund_reference = result.reference
    await _mark_refunded(session, events, order, now)
    return order


async def _mark_refunded(session: AsyncSession, events: Publishes, order: Order, now: datetime) -> None:
    order.refunded_at = now
    await revoke_for_order(session, order.id)
    await _set_status(session, events, order, OrderStatus.REFUNDED, now)
    await queue_notice(session, NoticeKind.ORDER_REFUNDED, str(order.id))


async def _mark_paid(
    session: AsyncSession, events: Publishes, order: Order, event: PaymentEvent, now: datetime
) -> bool:
    if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
        return False
    if event.amount_cents is not None and (event.amount_cents, event.currency) != (order.total_cents, order.currency):
        log.error(
            "payment event %s for order %s: paid %s %s, expected %s %s",
            event.event_id, order.id, event.amount_cents, event.currency, order.total_cents, order.currency,
        )  # fmt: skip
        raise ServiceError(ErrorCode.INVALID, "The paid amount does not match the order.")
    order.paid_at = now
    order.provider_reference = order.provider_reference or event.provider_reference
    order.payment_reference = event.payment_reference or order.payment_reference
    lines = await _order_lines(session, order.id)
    await grant(session, order.user_id, [line.audiobook_id for line in lines], order.id)
    await _set_status(session, events, order, OrderStatus.PAID, now)
    await queue_notice(session, NoticeKind.ORDER_PAID, str(order.id))
    return True


async def apply_payment_event(
    session: AsyncSession, events: Publishes, event: PaymentEvent, *, now: datetime | None = None
) -> str:
    """Apply a verified provider event exactly once: 'applied', 'unchanged', 'duplicate' or 'ignored'.

    The order row is locked and the event id recorded in the same transaction as the change, so
    redelivered or concurrent copies of one event, and different events for one payment, fulfil once.
    An event for an order we do not know raises `NotFound` and leaves nothing behind.
    """
    now = now or utcnow()
    if event.kind is EventKind.IGNORED:
        return "ignored"
    if event.order_id is not None:
        order = await _locked_order(session, col(Order.id) == event.order_id, col(Order.provider) == event.provider)
    elif event.provider_reference is not None:
        order = await _locked_order(
            session, col(Order.provider) == event.provider, col(Order.provider_reference) == event.provider_reference
        )
    elif event.payment_reference is not None:
        order = await _locked_order(
            session, col(Order.provider) == event.provider, col(Order.payment_reference) == event.payment_reference
        )
    else:
        order = None
    if order is None or (
        event.provider_reference is not None
        and order.provider_reference is not None
        and event.provider_reference != order.provider_reference
    ):
        raise NotFound("Order")
    recorded = await session.execute(
        insert(PaymentEventRecord)
        .values(
            provider=event.provider,
            event_id=event.event_id,
            event_type=event.event_type,
            order_id=order.id,
            processed_at=now,
        )
        .on_conflict_do_nothing()
        .returning(col(PaymentEventRecord.event_id))
    )
    if recorded.scalar_one_or_none() is None:
        return "duplicate"
    changed = False
    if event.kind is EventKind.PAID:
        changed = await _mark_paid(session, events, order, event, now)
    elif event.kind is EventKind.FAILED and order.status is OrderStatus.PENDING:
        await _set_status(session, events, order, OrderStatus.FAILED, now)
        changed = True
    elif event.kind is EventKind.EXPIRED and order.status is OrderStatus.PENDING:
        await _set_status(session, events, order, OrderStatus.CANCELLED, now)
        changed = True
    elif event.kind in (EventKind.REFUNDED, EventKind.REFUND) and order.status is OrderStatus.PAID:
        full = event.kind is EventKind.REFUNDED or (
            event.amount_cents is not None and event.amount_cents >= order.total_cents
        )
        if full:  # a partial refund keeps the books: it is a goodwill credit, not a return
            await _mark_refunded(session, events, order, now)
            changed = True
    return "applied" if changed else "unchanged"


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, viewer_id: uuid.UUID, admin: bool) -> Order:
    order = await session.get(Order, order_id)
    if order is None or (not admin and order.user_id != viewer_id):
        raise NotFound("Order")
    return order


async def lines_for_orders(session: AsyncSession, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[OrderLine]]:
    rows = await session.execute(
        select(OrderLine).where(col(OrderLine.order_id).in_(order_ids)).order_by(col(OrderLine.title))
    )
    out: dict[uuid.UUID, list[OrderLine]] = {i: [] for i in order_ids}
    for line in rows.scalars():
        out[line.order_id].append(line)
    return out


async def list_orders(
    session: AsyncSession, *, viewer_id: uuid.UUID, admin: bool, first: int | None, after: str | None
) -> Page[Order]:
    conditions: list[Any] = [] if admin else [col(Order.user_id) == viewer_id]
    keys: list[Key[Order]] = [
        time_key(col(Order.created_at), lambda o: o.created_at),
        id_key(col(Order.id), lambda o: o.id),
    ]
    return await keyset_page(
        session,
        select(Order).where(*conditions),
        keys=keys,
        count=select(func.count()).select_from(Order).where(*conditions),
        first=first,
        after=after,
    )


async def books_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Audiobook]:
    rows = await session.execute(select(Audiobook).where(col(Audiobook.id).in_(ids)))
    return {b.id: b for b in rows.scalars()}
