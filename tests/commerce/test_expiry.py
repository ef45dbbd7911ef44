"""Unpaid orders expire on their own: the pending order schedules the worker's sweep for its deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.graphql.relay import to_global_id
from tests.commerce.conftest import client_for, new_books, new_user
from tests.commerce.stripe_events import API_KEY, WEBHOOK_SECRET
from tests.commerce.stripe_stub import StripeStub
from tests.e2e.server import Server, run_server

CHECKOUT = """mutation { checkout(input: {provider: STRIPE, idempotencyKey: "expiring"}) {
  order { id status expiresAt } errors { code message } } }"""
ORDER_UPDATES = """subscription($id: ID!) { orderUpdates(orderId: $id) { status expiresAt } }"""


@pytest.fixture(scope="module")
def hasty_shop(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, stripe_stub: StripeStub
) -> Iterator[Server]:
    env = {
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_stub.base_url,
        "ORDER_PENDING_TTL_SECONDS": "1",
        "TEST_PAYMENTS_ENABLED": "",  # unset, as in production: the free TEST provider stays off
    }
    with run_server(tmp_path_factory.mktemp("hasty-shop"), database_url, redis_url, **env) as running:
        yield running


async def test_an_unpaid_stripe_order_is_cancelled_by_the_worker(
    hasty_shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_user(sessions)
    [book] = await new_books(sessions, 990)
    client = client_for(hasty_shop, http, user)
    add = "mutation($id: ID!) { addToCart(audiobookId: $id) { errors { code } } }"
    await client(add, id=str(to_global_id("Audiobook", book.id)))

    placed = (await client(CHECKOUT))["checkout"]
    assert placed["errors"] == [] and placed["order"]["status"] == "PENDING" and placed["order"]["expiresAt"]

    seen: list[str] = []
    async with asyncio.timeout(60):
        async for message in client.subscribe(ORDER_UPDATES, id=placed["order"]["id"]):
            seen.append(message["data"]["orderUpdates"]["status"])
            if seen[-1] != "PENDING":
                break
    assert seen[-1] == "CANCELLED"
    # the TEST provider is off by default once Stripe is configured: no free books in production
    refused = (await client(CHECKOUT.replace("STRIPE", "TEST").replace("expiring", "test-provider")))["checkout"]
    assert refused["errors"][0]["code"] == "UNSUPPORTED_PROVIDER"
