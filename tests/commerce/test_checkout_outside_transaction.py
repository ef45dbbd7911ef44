"""Checkout never holds the database while Stripe answers, and a crash mid-checkout is recovered.

A real `audiocity serve` and the real Stripe SDK against the loopback stub, made slow.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.models import Order, OrderStatus, User
from tests.commerce.conftest import client_for, new_books, new_user
from tests.commerce.stripe_events import API_KEY, WEBHOOK_SECRET
from tests.commerce.stripe_stub import StripeStub
from tests.commerce.test_stripe import ADD, CHECKOUT, _gid
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server

CATALOG = "query { audiobooks(first: 5) { edges { node { id title } } } }"
SLOW_STRIPE_SECONDS = 6.0
CHECKOUTS = 24  # more than the server's pool (10 + 10 overflow): a held connection per checkout would starve it
SESSIONS = "/v1/checkout/sessions"


@pytest.fixture
def slow_stripe(stripe_stub: StripeStub) -> Iterator[StripeStub]:
    stripe_stub.latency = SLOW_STRIPE_SECONDS
    yield stripe_stub
    stripe_stub.latency = 0.0


async def shopper(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> tuple[GraphQLClient, User]:
    """A signed-in customer with one book in the cart."""
    user = await new_user(sessions)
    [book] = await new_books(sessions, 700)
    gql = client_for(shop, http, user)
    added = (await gql(ADD, id=_gid("Audiobook", book.id)))["addToCart"]
    assert added["errors"] == [], added
    return gql, user


def sessions_for(stub: StripeStub, order_id: uuid.UUID) -> set[str]:
    """Idempotency keys the stub saw for this order's checkout sessions."""
    return {
        r.headers.get("idempotency-key", "")
        for r in stub.requests_to(SESSIONS)
        if r.form.get("client_reference_id") == str(order_id)
    }


async def orders_of(sessions: async_sessionmaker[AsyncSession], user: User) -> list[Order]:
    async with sessions() as s:
        return list((await s.execute(select(Order).where(col(Order.user_id) == user.id))).scalars())


async def test_concurrent_slow_checkouts_do_not_delay_catalog_queries(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], slow_stripe: StripeStub
) -> None:
    shoppers = [(await shopper(shop, http, sessions))[0] for _ in range(CHECKOUTS)]
    anonymous = GraphQLClient(http, shop.graphql_url)
    await anonymous(CATALOG)  # warm
    started = time.monotonic()
    checkouts = [asyncio.create_task(gql(CHECKOUT, provider="STRIPE", key=f"slow-{uuid.uuid4()}")) for gql in shoppers]
    while slow_stripe.in_flight < CHECKOUTS:  # every checkout is waiting for Stripe now
        assert not any(t.done() for t in checkouts), [t.result() for t in checkouts if t.done()]
        assert time.monotonic() - started < 120, f"only {slow_stripe.in_flight} checkouts reached Stripe"
        await asyncio.sleep(0.05)
    reached = time.monotonic() - started

    asked = time.monotonic()
    catalog = await anonymous(CATALOG)
    answered = time.monotonic()
    in_flight_then = slow_stripe.in_flight
    assert catalog["audiobooks"]["edges"], catalog
    assert in_flight_then > 0 and not all(t.done() for t in checkouts), "answered while checkouts were in flight"

    results = await asyncio.gather(*checkouts)
    finished = time.monotonic() - started
    assert all(r["checkout"]["errors"] == [] for r in results), results
    assert all(r["checkout"]["order"]["status"] == "PENDING" for r in results)
    assert all(r["checkout"]["payment"]["redirectUrl"].startswith("https://checkout.stripe.test/") for r in results)
    print(
        f"\n{CHECKOUTS} checkouts against a {SLOW_STRIPE_SECONDS:.0f} s Stripe: all at Stripe after {reached:.2f} s; "
        f"catalog query answered in {answered - asked:.3f} s with {in_flight_then} in flight; "
        f"checkouts done after {finished:.2f} s"
    )


async def test_a_repeated_idempotency_key_gives_one_order_and_one_session(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], stripe_stub: StripeStub
) -> None:
    stripe_stub.latency = 1.0
    try:
        gql, user = await shopper(shop, http, sessions)
        key = f"double-{uuid.uuid4()}"
        together = await asyncio.gather(*(gql(CHECKOUT, provider="STRIPE", key=key) for _ in range(3)))
        later = await gql(CHECKOUT, provider="STRIPE", key=key)
    finally:
        stripe_stub.latency = 0.0
    results = [r["checkout"] for r in [*together, later]]
    assert all(r["errors"] == [] for r in results), results
    assert len({r["order"]["id"] for r in results}) == 1
    assert len({r["payment"]["redirectUrl"] for r in results}) == 1, "one checkout session"
    [order] = await orders_of(sessions, user)
    assert sessions_for(stripe_stub, order.id) == {f"audiocity-checkout-{order.id}"}


CRASHING_CHECKOUT = """
import asyncio, os, signal, sys, uuid
import redis.asyncio as aioredis
from audiocity.db import make_engine, make_sessionmaker
from audiocity.events import Publisher
from audiocity.models import PaymentProvider
from audiocity.payments.stripe import StripeGateway
from audiocity.services import checkout

database_url, redis_url, stripe_base, user_id, key, when, api_key, webhook_secret = sys.argv[1:]

class Crashing(StripeGateway):
    async def create_payment(self, request):
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)  # the order is committed; Stripe was never asked
        session = await super().create_payment(request)
        print(session.provider_reference, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # Stripe made the session; it was never stored

async def main():
    gateway = Crashing(
        api_key, webhook_secret, api_base=stripe_base, success_url="http://x/{ORDER_ID}", cancel_url="http://x/{ORDER_ID}"
    )
    await checkout.checkout(
        make_sessionmaker(make_engine(database_url)), Publisher(aioredis.Redis.from_url(redis_url)),
        user_id=uuid.UUID(user_id), provider=PaymentProvider.STRIPE, idempotency_key=key,
        gateways={PaymentProvider.STRIPE: gateway},
    )

asyncio.run(main())
"""


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_crash_around_the_stripe_call_then_a_retry_gives_one_order_and_one_session(
    shop: Server,
    http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    stripe_stub: StripeStub,
    database_url: str,
    redis_url: str,
    when: str,
) -> None:
    gql, user = await shopper(shop, http, sessions)
    key = f"crash-{when}-{uuid.uuid4()}"
    crashed = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-c",
            CRASHING_CHECKOUT,
            database_url,
            redis_url,
            stripe_stub.base_url,
            str(user.id),
            key,
            when,
            API_KEY,
            WEBHOOK_SECRET,
        ],
        capture_output=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert crashed.returncode == -9, crashed.stderr.decode()
    [pending] = await orders_of(sessions, user)
    assert (pending.status, pending.provider_reference) == (OrderStatus.PENDING, None), "committed, no session stored"
    made_before = crashed.stdout.decode().strip()
    assert bool(made_before) == (when == "after")

    retried = (await gql(CHECKOUT, provider="STRIPE", key=key))["checkout"]

    assert retried["errors"] == [], retried
    [order] = await orders_of(sessions, user)
    assert order.id == pending.id and order.provider_reference is not None
    assert retried["payment"]["redirectUrl"].endswith(order.provider_reference)
    if when == "after":
        assert order.provider_reference == made_before, "Stripe's first session, replayed by the idempotency key"
    assert sessions_for(stripe_stub, order.id) == {f"audiocity-checkout-{order.id}"}
    async with sessions() as s:
        count = await s.scalar(select(func.count()).select_from(Order).where(col(Order.user_id) == user.id))
    assert count == 1
