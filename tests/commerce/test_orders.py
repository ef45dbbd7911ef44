"""services.cart and services.orders: carts (guest carts and their merge), checkout, idempotency, races,
price changes, pending orders and their expiry, provider events and refunds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.db import session_scope
from audiocity.events import order_channel
from audiocity.models import (
    Audiobook,
    Entitlement,
    Order,
    OrderStatus,
    PaymentProvider,
    User,
    utcnow,
)
from audiocity.payments import (
    EventKind,
    PaymentError,
    PaymentEvent,
    PaymentRequest,
    PaymentSession,
    RefundRequest,
    RefundResult,
    TestGateway,
)
from audiocity.services import cart, catalog, entitlements, orders
from audiocity.services.catalog import AudiobookInput
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import encode_cursor
from tests.factories import make_book, make_published_book, make_user
from tests.fakes.recording import RecordingPublisher

TEST_ONLY = {PaymentProvider.TEST: TestGateway()}  # what a store without Stripe enables


async def cart_ids(session: AsyncSession, user: User) -> list[uuid.UUID]:
    the_cart = await cart.cart_for_user(session, user.id)
    return [b.id for b in await cart.cart_books(session, the_cart.id)]


async def checkout(session: AsyncSession, user: User, key: str | None = None) -> Order:
    return await orders.checkout(
        session,
        RecordingPublisher(),
        user_id=user.id,
        provider=PaymentProvider.TEST,
        idempotency_key=key or uuid.uuid4().hex,
        gateways=TEST_ONLY,
    )


async def order_count(session: AsyncSession, user: User) -> int:
    return int(await session.scalar(select(func.count()).select_from(Order).where(col(Order.user_id) == user.id)) or 0)


# --- cart ---------------------------------------------------------------------------------------


async def test_add_remove_and_clear(session: AsyncSession) -> None:
    user = await make_user(session)
    first, second, third = [await make_published_book(session) for _ in range(3)]
    assert await cart_ids(session, user) == []

    for book in (first, second, third):
        await cart.add_to_cart(session, user.id, book.id)
    assert await cart_ids(session, user) == [first.id, second.id, third.id]

    await cart.remove_from_cart(session, user.id, second.id)
    assert await cart_ids(session, user) == [first.id, third.id]
    await cart.remove_from_cart(session, user.id, second.id)  # removing what is not there is harmless
    assert await cart_ids(session, user) == [first.id, third.id]

    await cart.clear_cart(session, user.id)
    assert await cart_ids(session, user) == []


async def test_one_cart_per_user(session: AsyncSession) -> None:
    user, other = await make_user(session), await make_user(session)
    book = await make_published_book(session)

    first = await cart.cart_for_user(session, user.id)
    again = await cart.add_to_cart(session, user.id, book.id)

    assert again.id == first.id
    assert (await cart.cart_for_user(session, other.id)).id != first.id
    assert await cart_ids(session, other) == []


async def test_already_in_cart(session: AsyncSession) -> None:
    user = await make_user(session)
    book = await make_published_book(session)
    await cart.add_to_cart(session, user.id, book.id)

    with pytest.raises(ServiceError) as exc:
        await cart.add_to_cart(session, user.id, book.id)
    assert exc.value.code is ErrorCode.ALREADY_IN_CART
    assert exc.value.field == "audiobookId"
    assert await cart_ids(session, user) == [book.id]


async def test_drafts_cannot_be_added(session: AsyncSession) -> None:
    user = await make_user(session)
    draft = await make_book(session)

    with pytest.raises(ServiceError) as exc:
        await cart.add_to_cart(session, user.id, draft.id)
    assert exc.value.code is ErrorCode.NOT_PUBLISHED
    with pytest.raises(NotFound):
        await cart.add_to_cart(session, user.id, uuid.uuid4())
    assert await cart_ids(session, user) == []


# --- checkout -----------------------------------------------------------------------------------


async def test_checkout_with_the_test_provider_pays_and_grants(session: AsyncSession) -> None:
    user = await make_user(session)
    first = await make_published_book(session, price_cents=1299)
    second = await make_published_book(session, price_cents=501)
    for book in (first, second):
        await cart.add_to_cart(session, user.id, book.id)
    publisher = RecordingPublisher()

    order = await orders.checkout(
        session,
        publisher,
        user_id=user.id,
        provider=PaymentProvider.TEST,
        idempotency_key="  key-1  ",
        gateways=TEST_ONLY,
    )

    assert order.status is OrderStatus.PAID
    assert order.paid_at is not None
    assert (order.total_cents, order.currency) == (1800, "USD")
    assert order.idempotency_key == "key-1"
    assert order.user_id == user.id
    lines = (await orders.lines_for_orders(session, [order.id]))[order.id]
    assert sorted((line.audiobook_id, line.title, line.price_cents) for line in lines) == sorted(
        [(first.id, first.title, 1299), (second.id, second.title, 501)]
    )
    assert await cart_ids(session, user) == []
    assert await entitlements.is_entitled(session, user.id, first.id)
    assert await entitlements.is_entitled(session, user.id, second.id)
    assert await entitlements.owned_book_ids(session, user.id, [first.id, second.id]) == {first.id, second.id}
    entitlement = (
        await session.execute(
            select(Entitlement).where(col(Entitlement.user_id) == user.id, col(Entitlement.audiobook_id) == first.id)
        )
    ).scalar_one()
    assert entitlement.order_id == order.id
    # the event goes out only after a commit (this session is never committed)
    assert publisher.calls == []

    # the lines are a snapshot: later catalog changes do not alter them
    old_title = first.title
    await catalog.update_audiobook(session, first.id, AudiobookInput(title="Renamed", price_cents=9999))
    lines = (await orders.lines_for_orders(session, [order.id]))[order.id]
    assert {line.audiobook_id: (line.title, line.price_cents) for line in lines}[first.id] == (old_title, 1299)
    assert (await orders.get_order(session, order.id, viewer_id=user.id, admin=False)).total_cents == 1800


async def test_already_owned_after_checkout(session: AsyncSession) -> None:
    user = await make_user(session)
    book = await make_published_book(session)
    await cart.add_to_cart(session, user.id, book.id)
    await checkout(session, user)

    with pytest.raises(ServiceError) as exc:
        await cart.add_to_cart(session, user.id, book.id)
    assert exc.value.code is ErrorCode.ALREADY_OWNED
    assert exc.value.field == "audiobookId"


async def test_same_idempotency_key_returns_the_same_order(session: AsyncSession) -> None:
    user = await make_user(session)
    book, later = await make_published_book(session), await make_published_book(session)
    await cart.add_to_cart(session, user.id, book.id)
    first = await checkout(session, user, "same-key")

    await cart.add_to_cart(session, user.id, later.id)
    again = await checkout(session, user, "same-key")

    assert again.id == first.id
    assert await order_count(session, user) == 1
    assert await cart_ids(session, user) == [later.id], "a replayed checkout leaves the cart alone"
    assert not await entitlements.is_entitled(session, user.id, later.id)
    # a new key checks out what is in the cart now
    second = await checkout(session, user, "another-key")
    assert second.id != first.id
    assert await order_count(session, user) == 2


async def test_idempotency_keys_are_per_user(session: AsyncSession) -> None:
    alice, bob = await make_user(session), await make_user(session)
    book = await make_published_book(session)
    for user in (alice, bob):
        await cart.add_to_cart(session, user.id, book.id)

    alices = await checkout(session, alice, "shared-key")
    bobs = await checkout(session, bob, "shared-key")

    assert alices.id != bobs.id
    assert (alices.user_id, bobs.user_id) == (alice.id, bob.id)


async def test_empty_cart(session: AsyncSession) -> None:
    user = await make_user(session)

    with pytest.raises(ServiceError) as exc:
        await checkout(session, user)
    assert exc.value.code is ErrorCode.EMPTY_CART
    assert await order_count(session, user) == 0


async def test_a_cart_of_books_unpublished_since_is_empty(session: AsyncSession) -> None:
    user = await make_user(session)
    book = await make_published_book(session)
    await cart.add_to_cart(session, user.id, book.id)
    await catalog.publish_audiobook(session, book.id, False)

    with pytest.raises(ServiceError) as exc:
        await checkout(session, user)
    assert exc.value.code is ErrorCode.EMPTY_CART


async def test_checkout_uses_the_price_at_checkout_time(session: AsyncSession) -> None:
    user = await make_user(session)
    book = await make_published_book(session, price_cents=1000)
    await cart.add_to_cart(session, user.id, book.id)
    await catalog.update_audiobook(session, book.id, AudiobookInput(price_cents=1250))

    order = await checkout(session, user)

    assert order.total_cents == 1250
    [line] = (await orders.lines_for_orders(session, [order.id]))[order.id]
    assert line.price_cents == 1250


async def test_checkout_refuses_mixed_currencies(session: AsyncSession) -> None:
    user = await make_user(session)
    for currency in ("USD", "EUR"):
        await cart.add_to_cart(session, user.id, (await make_published_book(session, currency=currency)).id)

    with pytest.raises(ServiceError) as exc:
        await checkout(session, user)
    assert exc.value.code is ErrorCode.INVALID
    assert len(await cart_ids(session, user)) == 2


@pytest.mark.parametrize(
    ("provider", "key", "code"),
    [
        (PaymentProvider.STRIPE, "k", ErrorCode.UNSUPPORTED_PROVIDER),
        (PaymentProvider.TEST, "   ", ErrorCode.INVALID),
        (PaymentProvider.TEST, "k" * 201, ErrorCode.INVALID),
    ],
)
async def test_checkout_input_errors(
    session: AsyncSession, provider: PaymentProvider, key: str, code: ErrorCode
) -> None:
    user = await make_user(session)
    await cart.add_to_cart(session, user.id, (await make_published_book(session)).id)

    with pytest.raises(ServiceError) as exc:
        await orders.checkout(
            session, RecordingPublisher(), user_id=user.id, provider=provider, idempotency_key=key, gateways=TEST_ONLY
        )
    assert exc.value.code is code
    assert await order_count(session, user) == 0


async def test_orders_are_private_to_their_owner(session: AsyncSession) -> None:
    owner, stranger = await make_user(session), await make_user(session)
    await cart.add_to_cart(session, owner.id, (await make_published_book(session)).id)
    order = await checkout(session, owner)

    with pytest.raises(NotFound):
        await orders.get_order(session, order.id, viewer_id=stranger.id, admin=False)
    assert (await orders.get_order(session, order.id, viewer_id=stranger.id, admin=True)).id == order.id
    assert (await orders.list_orders(session, viewer_id=stranger.id, admin=False, first=10, after=None)).items == []


async def test_list_orders_pages_newest_first(session: AsyncSession) -> None:
    user = await make_user(session)
    made = []
    for _ in range(5):
        await cart.add_to_cart(session, user.id, (await make_published_book(session)).id)
        made.append((await checkout(session, user)).id)

    seen: list[uuid.UUID] = []
    after: str | None = None
    while True:
        page = await orders.list_orders(session, viewer_id=user.id, admin=False, first=2, after=after)
        assert page.total_count == 5
        seen += [o.id for o in page.items]
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    assert seen == list(reversed(made))


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor([1]),
        encode_cursor(["not-a-date", str(uuid.uuid4())]),
        encode_cursor(["2024-01-01T00:00:00+00:00", "not-a-uuid"]),
        encode_cursor([1, 2]),
    ],
)
async def test_list_orders_malformed_cursor_is_invalid(session: AsyncSession, cursor: str) -> None:
    user = await make_user(session)
    with pytest.raises(ServiceError) as exc:
        await orders.list_orders(session, viewer_id=user.id, admin=False, first=5, after=cursor)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "after"


# --- concurrency --------------------------------------------------------------------------------


@pytest.fixture
async def committed_cart(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[User, list[Audiobook]]]:
    """A user with two books in the cart, committed so that other connections can see them."""
    async with session_scope(sessions) as session:
        user = await make_user(session)
        books = [await make_published_book(session, price_cents=700 + i) for i in range(2)]
        for book in books:
            await cart.add_to_cart(session, user.id, book.id)
    yield user, books
    async with session_scope(sessions) as session:
        await session.execute(delete(Order).where(col(Order.user_id) == user.id))
        await session.execute(delete(User).where(col(User.id) == user.id))
        await session.execute(delete(Audiobook).where(col(Audiobook.id).in_([b.id for b in books])))


async def test_concurrent_checkouts_of_one_cart_make_one_order(
    sessions: async_sessionmaker[AsyncSession], committed_cart: tuple[User, list[Audiobook]]
) -> None:
    user, books = committed_cart
    publisher = RecordingPublisher()

    async def attempt(n: int) -> Order:
        async with session_scope(sessions) as session:
            return await orders.checkout(
                session,
                publisher,
                user_id=user.id,
                provider=PaymentProvider.TEST,
                idempotency_key=f"race-{n}",
                gateways=TEST_ONLY,
            )

    results = await asyncio.gather(*(attempt(n) for n in range(50)), return_exceptions=True)

    placed = [r for r in results if isinstance(r, Order)]
    failed = [r for r in results if not isinstance(r, Order)]
    assert len(placed) == 1, results
    assert all(isinstance(e, ServiceError) and e.code is ErrorCode.EMPTY_CART for e in failed), failed
    [order] = placed
    assert order.total_cents == 1401
    async with sessions() as session:
        assert await order_count(session, user) == 1
        lines = (await orders.lines_for_orders(session, [order.id]))[order.id]
        assert sorted(line.audiobook_id for line in lines) == sorted(b.id for b in books)
        assert await entitlements.owned_book_ids(session, user.id, [b.id for b in books]) == {b.id for b in books}
        assert await cart_ids(session, user) == []
    assert publisher.calls == [([order_channel(order.id)], publisher.calls[0][1])]
    assert publisher.calls[0][1]["status"] == "PAID"


async def test_concurrent_checkouts_with_one_key_return_one_order(
    sessions: async_sessionmaker[AsyncSession], committed_cart: tuple[User, list[Audiobook]]
) -> None:
    user, _ = committed_cart

    async def attempt() -> Order:
        async with session_scope(sessions) as session:
            return await checkout(session, user, "double-click")

    results = await asyncio.gather(*(attempt() for _ in range(5)))

    assert len({o.id for o in results}) == 1
    async with sessions() as session:
        assert await order_count(session, user) == 1


# --- guest carts --------------------------------------------------------------------------------


async def test_guest_cart_is_named_by_a_token_stored_only_as_a_hash(session: AsyncSession) -> None:
    first, second = await make_published_book(session), await make_published_book(session)

    started = await cart.add_to_guest_cart(session, None, first.id)
    token = started.new_token
    assert token and len(token) >= 40
    assert started.cart.user_id is None
    assert started.cart.guest_token_hash == cart.hash_guest_token(token) != token

    again = await cart.add_to_guest_cart(session, token, second.id)
    assert again.new_token is None and again.cart.id == started.cart.id
    assert await cart.cart_books(session, started.cart.id) == [first, second]
    with pytest.raises(ServiceError) as exc:
        await cart.add_to_guest_cart(session, token, first.id)
    assert exc.value.code is ErrorCode.ALREADY_IN_CART

    await cart.remove_from_guest_cart(session, token, first.id)
    assert await cart.cart_books(session, started.cart.id) == [second]
    await cart.clear_guest_cart(session, token)
    assert await cart.cart_books(session, started.cart.id) == []

    for unknown in (None, "", "not-a-token", "x" * 5000):
        assert await cart.guest_cart(session, unknown) is None
        assert await cart.clear_guest_cart(session, unknown) is None
    elsewhere = await cart.add_to_guest_cart(session, "not-a-token", first.id)
    assert elsewhere.new_token not in (None, "not-a-token") and elsewhere.cart.id != started.cart.id


async def test_guest_carts_refuse_drafts(session: AsyncSession) -> None:
    draft = await make_book(session)
    with pytest.raises(ServiceError) as exc:
        await cart.add_to_guest_cart(session, None, draft.id)
    assert exc.value.code is ErrorCode.NOT_PUBLISHED


async def test_merge_skips_owned_duplicate_and_withdrawn_books(session: AsyncSession) -> None:
    user = await make_user(session)
    owned, fresh, duplicate, withdrawn = [await make_published_book(session) for _ in range(4)]
    await entitlements.grant(session, user.id, [owned.id], None)
    await cart.add_to_cart(session, user.id, duplicate.id)
    token = (await cart.add_to_guest_cart(session, None, owned.id)).new_token
    for book in (fresh, duplicate, withdrawn):
        await cart.add_to_guest_cart(session, token, book.id)
    await catalog.publish_audiobook(session, withdrawn.id, False)

    result = await cart.merge_guest_cart(session, user.id, token)

    assert result is not None
    assert result.merged == [fresh.id]
    assert result.skipped == [owned.id, duplicate.id, withdrawn.id]
    assert await cart_ids(session, user) == [duplicate.id, fresh.id]
    assert await cart.guest_cart(session, token) is None
    assert await cart.merge_guest_cart(session, user.id, token) is None


async def test_merged_lines_keep_the_price_seen_when_added(session: AsyncSession) -> None:
    user = await make_user(session)
    book = await make_published_book(session, price_cents=1000)
    token = (await cart.add_to_guest_cart(session, None, book.id)).new_token
    await catalog.update_audiobook(session, book.id, AudiobookInput(price_cents=800))
    await cart.merge_guest_cart(session, user.id, token)

    order = await checkout(session, user)

    [line] = (await orders.lines_for_orders(session, [order.id]))[order.id]
    assert (line.price_cents, line.cart_price_cents, line.price_changed) == (800, 1000, True)


async def test_two_sign_ins_racing_with_one_token_merge_it_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as s:
        alice, bob = await make_user(s), await make_user(s)
        book = await make_published_book(s)
        token = (await cart.add_to_guest_cart(s, None, book.id)).new_token

    async def sign_in(user: User) -> cart.MergeResult | None:
        async with session_scope(sessions) as s:
            return await cart.merge_guest_cart(s, user.id, token)

    results = await asyncio.gather(sign_in(alice), sign_in(bob))

    assert sorted(r is None for r in results) == [False, True]
    async with sessions() as s:
        held = [await cart_ids(s, u) for u in (alice, bob)]
    assert sorted(held) == [[], [book.id]]
    async with session_scope(sessions) as s:
        await s.execute(delete(Audiobook).where(col(Audiobook.id) == book.id))
        await s.execute(delete(User).where(col(User.id).in_([alice.id, bob.id])))


# --- pending orders, provider events, refunds ---------------------------------------------------


class PendingGateway:
    """A provider that, like Stripe, leaves the order to be settled later."""

    provider = PaymentProvider.STRIPE

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.refunds: list[uuid.UUID] = []

    async def create_payment(self, request: PaymentRequest) -> PaymentSession:
        if self.fail:
            raise PaymentError("the provider is down")
        return PaymentSession(provider_reference=f"cs_{request.order_id.hex}", redirect_url="https://pay.example/x")

    async def refund(self, request: RefundRequest) -> RefundResult:
        if self.fail:
            raise PaymentError("the provider is down")
        self.refunds.append(request.order_id)
        return RefundResult(reference=f"re_{request.order_id.hex}")


async def pending_order(session: AsyncSession, user: User, *prices: int, now: datetime | None = None) -> Order:
    for price in prices or (999,):
        await cart.add_to_cart(session, user.id, (await make_published_book(session, price_cents=price)).id)
    return await orders.checkout(
        session,
        RecordingPublisher(),
        user_id=user.id,
        provider=PaymentProvider.STRIPE,
        idempotency_key=uuid.uuid4().hex,
        gateways={PaymentProvider.STRIPE: PendingGateway()},
        pending_ttl=timedelta(minutes=30),
        now=now,
    )


def paid_event(order: Order, event_id: str | None = None, **changes: Any) -> PaymentEvent:
    values: dict[str, Any] = {
        "provider": PaymentProvider.STRIPE,
        "event_id": event_id or f"evt_{uuid.uuid4().hex}",
        "event_type": "checkout.session.completed",
        "kind": EventKind.PAID,
        "order_id": order.id,
        "provider_reference": order.provider_reference,
        "payment_reference": "pi_1",
        "amount_cents": order.total_cents,
        "currency": order.currency,
    }
    values.update(changes)
    return PaymentEvent(**values)


async def owned(session: AsyncSession, user: User, order: Order) -> set[uuid.UUID]:
    lines = (await orders.lines_for_orders(session, [order.id]))[order.id]
    return await entitlements.owned_book_ids(session, user.id, [line.audiobook_id for line in lines])


async def test_a_provider_checkout_stays_pending_until_paid(session: AsyncSession) -> None:
    user = await make_user(session)
    order = await pending_order(session, user, 500, 700)

    assert order.status is OrderStatus.PENDING
    assert order.redirect_url == "https://pay.example/x"
    assert order.provider_reference == f"cs_{order.id.hex}"
    assert order.expires_at is not None and order.paid_at is None
    assert await owned(session, user, order) == set()
    assert await cart_ids(session, user) == []

    assert await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order, "evt_1")) == "applied"
    assert order.status is OrderStatus.PAID and order.payment_reference == "pi_1"
    assert len(await owned(session, user, order)) == 2
    assert await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order, "evt_1")) == "duplicate"
    assert await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order, "evt_2")) == "unchanged"


async def test_a_provider_failure_at_checkout_is_a_user_error(session: AsyncSession) -> None:
    user = await make_user(session)
    await cart.add_to_cart(session, user.id, (await make_published_book(session)).id)

    with pytest.raises(ServiceError) as exc:
        await orders.checkout(
            session,
            RecordingPublisher(),
            user_id=user.id,
            provider=PaymentProvider.STRIPE,
            idempotency_key="k",
            gateways={PaymentProvider.STRIPE: PendingGateway(fail=True)},
        )
    assert exc.value.code is ErrorCode.PAYMENT_PROVIDER_ERROR


async def test_events_for_unknown_orders_or_sessions_are_not_found(session: AsyncSession) -> None:
    user = await make_user(session)
    order = await pending_order(session, user)

    for event in (
        paid_event(order, order_id=uuid.uuid4()),
        paid_event(order, provider_reference="cs_someone_else"),
        paid_event(order, order_id=None, provider_reference=None, payment_reference="pi_unknown"),
        paid_event(order, provider=PaymentProvider.TEST),
    ):
        with pytest.raises(NotFound):
            await orders.apply_payment_event(session, RecordingPublisher(), event)
    assert order.status is OrderStatus.PENDING
    found = await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order, order_id=None))
    assert found == "applied", "the session id alone finds the order"


async def test_failed_and_expired_events(session: AsyncSession) -> None:
    user = await make_user(session)
    failing, expiring = await pending_order(session, user), await pending_order(session, user)

    await orders.apply_payment_event(session, RecordingPublisher(), paid_event(failing, kind=EventKind.FAILED))
    await orders.apply_payment_event(session, RecordingPublisher(), paid_event(expiring, kind=EventKind.EXPIRED))

    assert (failing.status, expiring.status) == (OrderStatus.FAILED, OrderStatus.CANCELLED)
    ignored = paid_event(failing, kind=EventKind.IGNORED)
    assert await orders.apply_payment_event(session, RecordingPublisher(), ignored) == "ignored"


async def test_pending_orders_expire_and_a_late_payment_still_fulfils(session: AsyncSession) -> None:
    user, other = await make_user(session), await make_user(session)
    start = utcnow()
    order = await pending_order(session, user, now=start)
    others = await pending_order(session, other, now=start)
    publisher = RecordingPublisher()

    assert await orders.expire_pending_orders(session, publisher, start + timedelta(minutes=29)) == []
    assert await orders.expire_pending_orders(session, publisher, start + timedelta(hours=1), user_id=user.id) == [
        order.id
    ]
    assert order.status is OrderStatus.CANCELLED and others.status is OrderStatus.PENDING
    swept = await orders.expire_pending_orders(session, publisher, start + timedelta(hours=1))
    assert others.id in swept and order.id not in swept
    assert others.status is OrderStatus.CANCELLED

    # the buyer paid at the last second: the money is real, so the order is fulfilled
    assert await orders.apply_payment_event(session, publisher, paid_event(order)) == "applied"
    assert order.status is OrderStatus.PAID and len(await owned(session, user, order)) == 1


async def test_checkout_expires_the_buyers_overdue_orders(session: AsyncSession) -> None:
    user = await make_user(session)
    stale = await pending_order(session, user, now=utcnow() - timedelta(hours=2))
    await cart.add_to_cart(session, user.id, (await make_published_book(session)).id)

    await checkout(session, user)

    await session.refresh(stale)
    assert stale.status is OrderStatus.CANCELLED


async def test_refunds(session: AsyncSession) -> None:
    user = await make_user(session)
    await cart.add_to_cart(session, user.id, (await make_published_book(session)).id)
    paid = await checkout(session, user)
    publisher = RecordingPublisher()

    refunded = await orders.refund_order(session, publisher, paid.id, gateways=TEST_ONLY)

    assert refunded.status is OrderStatus.REFUNDED and refunded.refunded_at is not None
    assert refunded.refund_reference == f"test_refund_{paid.id.hex}"
    assert await owned(session, user, paid) == set()
    with pytest.raises(ServiceError) as exc:
        await orders.refund_order(session, publisher, paid.id, gateways=TEST_ONLY)
    assert exc.value.code is ErrorCode.NOT_REFUNDABLE
    with pytest.raises(NotFound):
        await orders.refund_order(session, publisher, uuid.uuid4(), gateways=TEST_ONLY)
    pending = await pending_order(session, user)
    with pytest.raises(ServiceError) as exc:
        await orders.refund_order(session, publisher, pending.id, gateways={PaymentProvider.STRIPE: PendingGateway()})
    assert exc.value.code is ErrorCode.NOT_REFUNDABLE


async def test_a_refused_refund_changes_nothing(session: AsyncSession) -> None:
    user = await make_user(session)
    order = await pending_order(session, user)
    await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order))

    with pytest.raises(ServiceError) as exc:
        await orders.refund_order(
            session, RecordingPublisher(), order.id, gateways={PaymentProvider.STRIPE: PendingGateway(fail=True)}
        )
    assert exc.value.code is ErrorCode.PAYMENT_PROVIDER_ERROR
    assert order.status is OrderStatus.PAID and len(await owned(session, user, order)) == 1
    with pytest.raises(ServiceError) as exc:
        await orders.refund_order(session, RecordingPublisher(), order.id, gateways={})
    assert exc.value.code is ErrorCode.UNSUPPORTED_PROVIDER


async def test_provider_refunds_revoke_only_when_whole(session: AsyncSession) -> None:
    user = await make_user(session)
    order = await pending_order(session, user, 1000)
    await orders.apply_payment_event(session, RecordingPublisher(), paid_event(order))

    partial = paid_event(order, kind=EventKind.REFUND, order_id=None, provider_reference=None, amount_cents=400)
    assert await orders.apply_payment_event(session, RecordingPublisher(), partial) == "unchanged"
    assert order.status is OrderStatus.PAID
    whole = paid_event(order, kind=EventKind.REFUND, order_id=None, provider_reference=None, amount_cents=1000)
    assert await orders.apply_payment_event(session, RecordingPublisher(), whole) == "applied"
    assert order.status is OrderStatus.REFUNDED and await owned(session, user, order) == set()


async def test_status_changes_are_published_after_commit(sessions: async_sessionmaker[AsyncSession]) -> None:
    publisher = RecordingPublisher()
    async with session_scope(sessions) as s:
        user = await make_user(s)
        await cart.add_to_cart(s, user.id, (await make_published_book(s)).id)
        order = await orders.checkout(
            s,
            publisher,
            user_id=user.id,
            provider=PaymentProvider.STRIPE,
            idempotency_key="publish",
            gateways={PaymentProvider.STRIPE: PendingGateway()},
        )
    async with session_scope(sessions) as s:
        await orders.apply_payment_event(s, publisher, paid_event(order))
    async with session_scope(sessions) as s:
        await orders.refund_order(s, publisher, order.id, gateways={PaymentProvider.STRIPE: PendingGateway()})

    assert [(channels, payload["status"]) for channels, payload in publisher.calls] == [
        ([order_channel(order.id)], "PENDING"),
        ([order_channel(order.id)], "PAID"),
        ([order_channel(order.id)], "REFUNDED"),
    ]
