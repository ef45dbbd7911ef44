"""Stripe end to end: the real SDK against a loopback stub, and signed webhooks posted to a real server."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.models import Audiobook, Entitlement, Order, OrderStatus, Role, User
from audiocity.models.commerce import PaymentEventRecord
from audiocity.services import cart
from tests.commerce import stripe_events as se
from tests.commerce.conftest import client_for, new_books, new_user
from tests.commerce.stripe_stub import StripeStub
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server

ADD = """mutation($id: ID!) { addToCart(audiobookId: $id) { cart { totalQuantity } errors { code message } } }"""
CHECKOUT = """mutation($provider: PaymentProvider!, $key: String!) {
  checkout(input: {provider: $provider, idempotencyKey: $key}) {
    order { id status total { amountCents currency } expiresAt payment { redirectUrl } }
    payment { provider redirectUrl clientSecret } errors { code field message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status paidAt refundedAt payment { redirectUrl } } }"""
REFUND = (
    """mutation($id: ID!) { refundOrder(orderId: $id) { order { id status refundedAt } errors { code message } } }"""
)
ORDER_UPDATES = """subscription($id: ID!) { orderUpdates(orderId: $id) { id status } }"""


class StripeOrder:
    """A customer's order checked out with Stripe and still pending."""

    def __init__(self, user: User, books: list[Audiobook], gql: GraphQLClient, order_id: str, db_id: uuid.UUID) -> None:
        self.user, self.books, self.gql, self.order_id, self.db_id = user, books, gql, order_id, db_id
        self.total = sum(b.price_cents for b in books)


async def stripe_order(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], *prices: int
) -> StripeOrder:
    user = await new_user(sessions)
    books = await new_books(sessions, *prices)
    gql = client_for(shop, http, user)
    for book in books:
        added = (await gql(ADD, id=_gid("Audiobook", book.id)))["addToCart"]
        assert added["errors"] == [], added
    result = (await gql(CHECKOUT, provider="STRIPE", key=f"stripe-{uuid.uuid4()}"))["checkout"]
    assert result["errors"] == [], result
    order_id = result["order"]["id"]
    return StripeOrder(user, books, gql, order_id, _db_id(order_id))


def _gid(kind: str, raw: uuid.UUID) -> str:
    from audiocity.graphql.relay import to_global_id

    return str(to_global_id(kind, raw))


def _db_id(global_id: str) -> uuid.UUID:
    from audiocity.graphql.relay import decode_id

    return decode_id(global_id, "Order")


async def post_event(http: httpx.AsyncClient, shop: Server, body: str, signature: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    headers["Stripe-Signature"] = se.sign(body) if signature is None else signature
    return await http.post(f"{shop.base_url}/webhooks/stripe", content=body.encode(), headers=headers)


async def db_state(sessions: async_sessionmaker[AsyncSession], order: StripeOrder) -> dict[str, Any]:
    async with sessions() as s:
        row = await s.get(Order, order.db_id)
        assert row is not None
        entitlements = (
            await s.execute(
                select(Entitlement.audiobook_id, Entitlement.revoked_at).where(
                    col(Entitlement.user_id) == order.user.id
                )
            )
        ).all()
        events = await s.scalar(
            select(func.count()).select_from(PaymentEventRecord).where(col(PaymentEventRecord.order_id) == order.db_id)
        )
        orders = await s.scalar(select(func.count()).select_from(Order).where(col(Order.user_id) == order.user.id))
    return {
        "status": row.status,
        "payment_reference": row.payment_reference,
        "active": sorted(str(b) for b, revoked in entitlements if revoked is None),
        "entitlement_rows": len(entitlements),
        "events": int(events or 0),
        "orders": int(orders or 0),
    }


def completed(order: StripeOrder, session_id: str, event_id: str | None = None, **overrides: Any) -> str:
    obj = se.checkout_session(order.db_id, session_id, amount_total=order.total, payment_intent="pi_" + order.db_id.hex)
    obj.update(overrides)
    return se.event("checkout.session.completed", obj, event_id)


async def session_id_of(sessions: async_sessionmaker[AsyncSession], order: StripeOrder) -> str:
    async with sessions() as s:
        row = await s.get(Order, order.db_id)
        assert row is not None and row.provider_reference
        return row.provider_reference


# --- checkout -----------------------------------------------------------------------------------


async def test_checkout_creates_a_stripe_session_and_waits_for_the_webhook(
    shop: Server, stripe_stub: StripeStub, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 1299, 501)

    [sent] = [
        r
        for r in stripe_stub.requests_to("/v1/checkout/sessions")
        if r.form.get("metadata[order_id]") == str(order.db_id)
    ]
    assert sent.headers["authorization"] == f"Bearer {se.API_KEY}"
    assert sent.headers["idempotency-key"] == f"audiocity-checkout-{order.db_id}"
    assert sent.form["mode"] == "payment"
    assert sent.form["client_reference_id"] == str(order.db_id)
    assert sent.form["customer_email"] == order.user.email
    amounts = sorted(int(v) for k, v in sent.form.items() if k.endswith("[price_data][unit_amount]"))
    assert amounts == [501, 1299]
    assert {v for k, v in sent.form.items() if k.endswith("[price_data][currency]")} == {"usd"}

    session_id = await session_id_of(sessions, order)
    fetched = (await order.gql(ORDER, id=order.order_id))["order"]
    assert fetched["status"] == "PENDING"
    assert fetched["payment"]["redirectUrl"] == f"https://checkout.stripe.test/c/pay/{session_id}"
    state = await db_state(sessions, order)
    assert state["active"] == [] and state["events"] == 0
    async with sessions() as s:
        assert await cart.cart_books(s, (await cart.cart_for_user(s, order.user.id)).id) == []


async def test_stripe_refusing_the_session_leaves_no_order(
    shop: Server, stripe_stub: StripeStub, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_user(sessions)
    [book] = await new_books(sessions, 800)
    gql = client_for(shop, http, user)
    await gql(ADD, id=_gid("Audiobook", book.id))

    stripe_stub.fail_next(400, "Invalid currency.")
    refused = (await gql(CHECKOUT, provider="STRIPE", key="k1"))["checkout"]

    assert refused["order"] is None
    assert refused["errors"][0]["code"] == "PAYMENT_PROVIDER_ERROR"
    assert "Invalid currency" in refused["errors"][0]["message"]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Order).where(col(Order.user_id) == user.id)) == 0
        assert [b.id for b in await cart.cart_books(s, (await cart.cart_for_user(s, user.id)).id)] == [book.id]
    # the same key works once Stripe answers again
    retried = (await gql(CHECKOUT, provider="STRIPE", key="k1"))["checkout"]
    assert retried["errors"] == [] and retried["order"]["status"] == "PENDING"


# --- webhooks -----------------------------------------------------------------------------------


async def test_a_signed_completed_event_fulfils_once_however_often_it_arrives(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 1000, 250)
    session_id = await session_id_of(sessions, order)
    body = completed(order, session_id)

    updates: list[str] = []
    listening = asyncio.Event()

    async def watch() -> None:
        async for message in order.gql.subscribe(ORDER_UPDATES, id=order.order_id):
            updates.append(message["data"]["orderUpdates"]["status"])
            listening.set()  # the snapshot comes after the subscription is in place
            if updates[-1] == "PAID":
                return

    watcher = asyncio.create_task(watch())
    async with asyncio.timeout(30):
        await listening.wait()

    first = await post_event(http, shop, body)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "applied"
    async with asyncio.timeout(30):
        await watcher
    assert updates == ["PENDING", "PAID"]

    expected_books = sorted(str(b.id) for b in order.books)
    paid = await db_state(sessions, order)
    assert paid == {
        "status": OrderStatus.PAID,
        "payment_reference": "pi_" + order.db_id.hex,
        "active": expected_books,
        "entitlement_rows": 2,
        "events": 1,
        "orders": 1,
    }

    for _ in range(100):
        again = await post_event(http, shop, body)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    parallel = await asyncio.gather(*(post_event(http, shop, body) for _ in range(20)))
    assert {(r.status_code, r.json()["outcome"]) for r in parallel} == {(200, "duplicate")}
    assert await db_state(sessions, order) == paid

    # a different event about the same payment is recorded but changes nothing
    other = completed(order, session_id)
    assert (await post_event(http, shop, other)).json()["outcome"] == "unchanged"
    assert (await db_state(sessions, order))["status"] is OrderStatus.PAID
    fetched = (await order.gql(ORDER, id=order.order_id))["order"]
    assert fetched["status"] == "PAID" and fetched["paidAt"] and fetched["payment"] is None


async def test_twenty_parallel_first_deliveries_fulfil_once(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 700, 300, 100)
    body = completed(order, await session_id_of(sessions, order))

    responses = await asyncio.gather(*(post_event(http, shop, body) for _ in range(20)))

    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert all(r.status_code == 200 for r in responses)
    assert outcomes == ["applied"] + ["duplicate"] * 19
    state = await db_state(sessions, order)
    assert state["status"] is OrderStatus.PAID
    assert state["active"] == sorted(str(b.id) for b in order.books)
    assert state["entitlement_rows"] == 3 and state["events"] == 1 and state["orders"] == 1


async def test_unverifiable_or_unknown_events_are_rejected_without_side_effects(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 900)
    session_id = await session_id_of(sessions, order)
    before = await db_state(sessions, order)
    body = completed(order, session_id)

    rejected = {
        "wrong secret": await post_event(http, shop, body, se.sign(body, secret="whsec_someone_else")),
        "tampered body": await post_event(
            http, shop, body.replace('"amount_total": 900', '"amount_total": 1'), se.sign(body)
        ),
        "old timestamp": await post_event(http, shop, body, se.sign(body, timestamp=int(time.time()) - 3600)),
        "no signature": await post_event(http, shop, body, ""),
        "not json": await post_event(http, shop, "{not json", se.sign("{not json")),
    }
    for name, response in rejected.items():
        assert response.status_code == 400, (name, response.text)
    huge = body[:-1] + ', "padding": "' + "x" * (1024 * 1024) + '"}'
    assert (await post_event(http, shop, huge)).status_code == 413

    unknown_order = uuid.uuid4()
    stranger = se.event(
        "checkout.session.completed",
        se.checkout_session(unknown_order, "cs_test_unknown", amount_total=900),
    )
    unknown = await post_event(http, shop, stranger)
    assert unknown.status_code == 404

    assert await db_state(sessions, order) == before
    async with sessions() as s:
        recorded = await s.scalar(
            select(func.count()).select_from(PaymentEventRecord).where(col(PaymentEventRecord.order_id).is_(None))
        )
        assert recorded == 0
    # the genuine event still works afterwards
    assert (await post_event(http, shop, body)).json()["outcome"] == "applied"


async def test_wrong_amount_is_refused(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 1500)
    session_id = await session_id_of(sessions, order)

    response = await post_event(http, shop, completed(order, session_id, amount_total=1))

    assert response.status_code == 400
    state = await db_state(sessions, order)
    assert state["status"] is OrderStatus.PENDING and state["events"] == 0 and state["active"] == []


async def test_failed_and_expired_sessions(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    failing = await stripe_order(shop, http, sessions, 400)
    obj = se.checkout_session(
        failing.db_id, await session_id_of(sessions, failing), amount_total=400, payment_status="unpaid"
    )
    # completed but unpaid (a bank debit in flight) changes nothing yet
    assert (await post_event(http, shop, se.event("checkout.session.completed", obj))).json()["outcome"] == "ignored"
    assert (await post_event(http, shop, se.event("checkout.session.async_payment_failed", obj))).json()[
        "outcome"
    ] == "applied"
    assert (await db_state(sessions, failing))["status"] is OrderStatus.FAILED

    expiring = await stripe_order(shop, http, sessions, 400)
    obj = se.checkout_session(
        expiring.db_id, await session_id_of(sessions, expiring), amount_total=400, payment_status="unpaid"
    )
    assert (await post_event(http, shop, se.event("checkout.session.expired", obj))).json()["outcome"] == "applied"
    state = await db_state(sessions, expiring)
    assert state["status"] is OrderStatus.CANCELLED and state["active"] == []

    # a delayed payment that succeeds after all still fulfils
    late = await stripe_order(shop, http, sessions, 650)
    obj = se.checkout_session(late.db_id, await session_id_of(sessions, late), amount_total=650)
    assert (await post_event(http, shop, se.event("checkout.session.async_payment_succeeded", obj))).json()[
        "outcome"
    ] == "applied"
    assert (await db_state(sessions, late))["active"] == [str(late.books[0].id)]


# --- refunds ------------------------------------------------------------------------------------


async def test_admin_refund_goes_through_stripe_and_revokes(
    shop: Server, stripe_stub: StripeStub, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 1100, 400)
    await post_event(http, shop, completed(order, await session_id_of(sessions, order)))
    admin = client_for(shop, http, await new_user(sessions, Role.ADMIN))

    forbidden = await order.gql.raw(REFUND, id=order.order_id)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refunded = (await admin(REFUND, id=order.order_id))["refundOrder"]

    assert refunded["errors"] == []
    assert refunded["order"]["status"] == "REFUNDED" and refunded["order"]["refundedAt"]
    [sent] = [r for r in stripe_stub.requests_to("/v1/refunds") if r.form.get("metadata[order_id]") == str(order.db_id)]
    assert sent.form["payment_intent"] == "pi_" + order.db_id.hex
    assert sent.headers["idempotency-key"] == f"audiocity-refund-{order.db_id}"
    state = await db_state(sessions, order)
    assert state["status"] is OrderStatus.REFUNDED and state["active"] == []

    again = (await admin(REFUND, id=order.order_id))["refundOrder"]
    assert again["errors"][0]["code"] == "NOT_REFUNDABLE"
    # Stripe's own notice of that refund arrives later and changes nothing
    notice = se.event("charge.refunded", se.charge_refunded("pi_" + order.db_id.hex, order.total))
    assert (await post_event(http, shop, notice)).json()["outcome"] == "unchanged"
    assert (
        len([r for r in stripe_stub.requests_to("/v1/refunds") if r.form.get("metadata[order_id]") == str(order.db_id)])
        == 1
    )


async def test_refunds_made_in_the_stripe_dashboard_revoke(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    order = await stripe_order(shop, http, sessions, 1000)
    await post_event(http, shop, completed(order, await session_id_of(sessions, order)))
    intent = "pi_" + order.db_id.hex

    partial = se.event("charge.refunded", se.charge_refunded(intent, 1000, refunded=300))
    assert (await post_event(http, shop, partial)).json()["outcome"] == "unchanged"
    assert (await db_state(sessions, order))["active"] == [str(order.books[0].id)]

    full = se.event("charge.refunded", se.charge_refunded(intent, 1000))
    assert (await post_event(http, shop, full)).json()["outcome"] == "applied"
    state = await db_state(sessions, order)
    assert state["status"] is OrderStatus.REFUNDED and state["active"] == []
    fetched = (await order.gql(ORDER, id=order.order_id))["order"]
    assert fetched["status"] == "REFUNDED"
