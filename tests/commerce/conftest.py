"""One real `audiocity serve` with Stripe pointed at a loopback stub, shared by the commerce tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.models import Audiobook, Role, User
from tests.commerce.stripe_events import API_KEY, WEBHOOK_SECRET
from tests.commerce.stripe_stub import StripeStub
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.factories import make_published_book, make_user


@pytest.fixture(scope="package")
def stripe_stub() -> Iterator[StripeStub]:
    with StripeStub() as stub:
        yield stub


@pytest.fixture(scope="package")
def shop(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, stripe_stub: StripeStub
) -> Iterator[Server]:
    env = {
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_stub.base_url,
        "TEST_PAYMENTS_ENABLED": "1",  # Stripe is on, and the TEST provider too, for the cart tests
    }
    with run_server(tmp_path_factory.mktemp("commerce-app"), database_url, redis_url, **env) as running:
        yield running


async def new_user(sessions: async_sessionmaker[AsyncSession], role: Role = Role.CUSTOMER) -> User:
    async with session_scope(sessions) as session:
        return await make_user(session, role)


async def new_books(sessions: async_sessionmaker[AsyncSession], *prices: int) -> list[Audiobook]:
    async with session_scope(sessions) as session:
        return [await make_published_book(session, price_cents=p) for p in prices]


def client_for(server: Server, http: httpx.AsyncClient, user: User | None) -> GraphQLClient:
    """A GraphQL client with an access token the server accepts (users are made straight in the database)."""
    token = create_access_token(server.env["SECRET_KEY"], user.id, user.role.value, 900) if user else None
    return GraphQLClient(http, server.graphql_url, token)
