"""Rate limits live in Redis: two API processes share them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, run_server

PASSWORD = "correct horse battery staple"
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  accessToken errors { code field message retryAfterSeconds } } }"""


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[tuple[Server, Server]]:
    strict = {
        "IN_PROCESS_WORKER": "0",
        "RATE_LIMIT_LOGIN_PER_ACCOUNT": "3/30s",
        "RATE_LIMIT_OPERATIONS_PER_CLIENT": "20/1m",
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
