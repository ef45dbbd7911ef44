"""Rate limits live in Redis: two API processes share them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.relay import to_global_id
from audiocity.models import Role
from tests.e2e.client import GraphQLSocket
from tests.e2e.server import Server, run_server
from tests.factories import make_user

PASSWORD = "correct horse battery staple"
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  accessToken errors { code field message retryAfterSeconds } } }"""


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[tuple[Server, Server]]:
    strict = {
        "IN_PROCESS_WORKER": "0",
        "TRUST_FORWARDED_FOR": "1",  # a test that needs its own budget speaks from its own address
        "RATE_LIMIT_LOGIN_PER_ACCOUNT": "3/30s",
        "RATE_LIMIT_OPERATIONS_PER_CLIENT": "20/1h",  # no token comes back while a test runs
    }
    with (
        run_server(tmp_path_factory.mktemp("limits-a"), database_url, redis_url, **strict) as a,
        run_server(tmp_path_factory.mktemp("limits-b"), database_url, redis_url, **strict) as b,
    ):
        yield a, b


def login(server: Server, email: str, password: str) -> dict[str, Any]:
    body = httpx.post(server.graphql_url, json={"query": LOGIN, "variables": {"e": email, "p": password}}).json()
    return body["data"]["login"]  # type: ignore[no-any-return]


def test_login_throttling_is_shared_by_two_processes(pair: tuple[Server, Server]) -> None:
    a, b = pair
    email = f"throttled-{uuid.uuid4().hex[:8]}@example.com"
    register = "mutation($i: RegisterInput!) { register(input: $i) { errors { code } } }"
    httpx.post(a.graphql_url, json={"query": register, "variables": {"i": {"email": email, "password": PASSWORD}}})

    assert login(a, email, "wrong password 1")["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert login(b, email, "wrong password 2")["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert login(a, email.upper(), "wrong password 3")["errors"][0]["code"] == "INVALID_CREDENTIALS"
    refused = login(b, email, PASSWORD)  # the right password, on the other process
    assert refused["accessToken"] is None
    [error] = refused["errors"]
    assert error["code"] == "RATE_LIMITED" and error["retryAfterSeconds"] >= 1
    assert "retry in" in error["message"]

    time.sleep(error["retryAfterSeconds"])  # the bucket refills: the right password works again
    assert login(a, email, PASSWORD)["accessToken"]


def test_operations_per_client_are_throttled_with_retry_after(pair: tuple[Server, Server]) -> None:
    a, b = pair
    answers = [httpx.post((a if i % 2 else b).graphql_url, json={"query": "{ __typename }"}) for i in range(30)]
    refused = [r for r in answers if r.status_code == 429]
    assert refused, [r.status_code for r in answers]
    assert int(refused[0].headers["retry-after"]) >= 1
    assert refused[0].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert {r.status_code for r in answers} == {200, 429}


CATALOG = "query { audiobooks(first: 1) { totalCount } }"  # anonymous and public: the front caches it
PRIVATE = "query { me { id } }"  # never cached: Strawberry runs it (anonymous: UNAUTHENTICATED)


async def test_every_operation_takes_one_token_cached_or_not_over_http_or_a_socket(
    pair: tuple[Server, Server], sessions: async_sessionmaker[AsyncSession]
) -> None:
    a, b = pair
    async with session_scope(sessions) as s:
        admin = await make_user(s, Role.ADMIN)  # multipart (uploads) is for admins only
    admin_token = create_access_token(b.env["SECRET_KEY"], admin.id, "ADMIN", 600)
    here = {"X-Forwarded-For": origin()}  # a budget of its own: 20 operations
    async with httpx.AsyncClient(headers=here, timeout=30) as http:
        answers = [
            await http.post((a if i % 2 else b).graphql_url, json={"query": CATALOG if i % 3 else PRIVATE})
            for i in range(12)
        ]
        assert [r.status_code for r in answers] == [200] * 12, [r.text for r in answers]
        assert {r.headers.get("x-cache") for r in answers} >= {"MISS", "HIT", None}  # cached, kept, executed

        async with GraphQLSocket.open(a.graphql_url, additional_headers=here) as sock:
            assert (await sock.init())["type"] == "connection_ack"
            for _ in range(8):  # the same budget: 8 more operations, one token each
                op = await sock.subscribe("{ __typename }")
                assert (await sock.message(op))["payload"]["data"] == {"__typename": "Query"}
                assert (await sock.message(op))["type"] == "complete"
            refused_op = await sock.subscribe("{ __typename }")
            [error] = errors_of(await sock.message(refused_op))
            assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1

        # Spent: a cache hit, an executed query and a multipart request are all refused, 429 and Retry-After.
        multipart = {"operations": json.dumps({"query": "{ __typename }", "variables": {}}), "map": "{}"}
        for refused in (
            await http.post(b.graphql_url, json={"query": CATALOG}),
            await http.post(a.graphql_url, json={"query": PRIVATE}),
            await http.post(
                b.graphql_url,
                data=multipart,
                files={"0": ("a.txt", b"x", "text/plain")},
                headers={"Authorization": f"Bearer {admin_token}"},
            ),
        ):
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) >= 1
            [error] = refused.json()["errors"]
            assert error["extensions"]["code"] == "RATE_LIMITED"
            assert error["extensions"]["requestId"] == refused.headers["x-request-id"]
        other = await http.post(a.graphql_url, json={"query": CATALOG}, headers={"X-Forwarded-For": origin()})
        assert other.status_code == 200, "the budget is per client address"


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    assert message["type"] == "error", message
    return message["payload"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    """Two of each per window; each test speaks from its own address (X-Forwarded-For)."""
    with run_server(
        tmp_path_factory.mktemp("limits-strict"),
        database_url,
        redis_url,
        IN_PROCESS_WORKER="0",
        TRUST_FORWARDED_FOR="1",
        RATE_LIMIT_REGISTER_PER_CLIENT="2/1h",
        RATE_LIMIT_CHECKOUT_PER_ACCOUNT="2/1h",
        RATE_LIMIT_GUEST_CART_PER_CLIENT="2/1h",
    ) as s:
        yield s


def call(server: Server, origin: str, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"X-Forwarded-For": origin, **({"Authorization": f"Bearer {token}"} if token else {})}
    body = httpx.post(server.graphql_url, json={"query": query, "variables": variables}, headers=headers).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def assert_throttled(payload: dict[str, Any]) -> None:
    [error] = payload["errors"]
    assert error["code"] == "RATE_LIMITED" and error["retryAfterSeconds"] >= 1, payload


REGISTER = """mutation($i: RegisterInput!) { register(input: $i) { errors { code message retryAfterSeconds } } }"""
CHECKOUT = """mutation($k: String!) { checkout(input: {provider: TEST, idempotencyKey: $k}) {
  order { id } errors { code message retryAfterSeconds } } }"""
ADD = """mutation($id: ID!) { addToCart(audiobookId: $id) { guestToken errors { code message retryAfterSeconds } } }"""


def origin() -> str:
    return f"203.0.113.{uuid.uuid4().hex[:8]}"


def new_account(server: Server, email: str, origin: str) -> dict[str, Any]:
    return call(server, origin, REGISTER, i={"email": email, "password": PASSWORD})["register"]  # type: ignore[no-any-return]


def test_register_is_throttled_per_client_address(strict: Server) -> None:
    here = origin()
    emails = [f"many-{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)]
    assert new_account(strict, emails[0], here)["errors"] == []
    assert new_account(strict, emails[1], here)["errors"] == []
    assert_throttled(new_account(strict, emails[2], here))
    # another address registers the same email at once: the limit is per address
    assert new_account(strict, emails[2], origin())["errors"] == []
    assert login(strict, emails[2], PASSWORD)["accessToken"], "the account from the other address exists"
    assert login(strict, emails[0], PASSWORD)["accessToken"]


def test_checkout_is_throttled_per_account(strict: Server) -> None:
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    assert new_account(strict, email, origin())["errors"] == []
    token = login(strict, email, PASSWORD)["accessToken"]
    first, second = (call(strict, origin(), CHECKOUT, token, k=uuid.uuid4().hex)["checkout"] for _ in range(2))
    assert "RATE_LIMITED" not in codes(first) + codes(second)  # the empty cart answers, not the limiter
    assert_throttled(
        call(strict, origin(), CHECKOUT, token, k=uuid.uuid4().hex)["checkout"]
    )  # new address, same account


def test_guest_carts_are_throttled_per_client_address(strict: Server) -> None:
    here = origin()
    book = str(to_global_id("Audiobook", uuid.uuid4()))
    first, second = (call(strict, here, ADD, id=book)["addToCart"] for _ in range(2))
    assert "RATE_LIMITED" not in codes(first) + codes(second)
    assert_throttled(call(strict, here, ADD, id=book)["addToCart"])
    assert "RATE_LIMITED" not in codes(call(strict, origin(), ADD, id=book)["addToCart"])
