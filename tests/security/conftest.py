"""One API process with the production limits (rate limits generous unless a test asks), and its admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.server import Server, run_server


@dataclass
class Accounts:
    admin: str
    customer: str
    other: str
    admin_id: str
    customer_id: str


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("security-app"), database_url, redis_url, IN_PROCESS_WORKER="0") as s:
        yield s


def sign_up(server: Server, prefix: str) -> tuple[str, str, str]:
    """Register and sign in over HTTP; returns (email, access token, global id)."""
    email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    register = "mutation($i: RegisterInput!) { register(input: $i) { errors { code } } }"
    body = httpx.post(
        server.graphql_url, json={"query": register, "variables": {"i": {"email": email, "password": password}}}
    ).json()
    assert body["data"]["register"]["errors"] == [], body
    login = (
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
        "{ accessToken user { id } errors { code } } }"
    )
    body = httpx.post(server.graphql_url, json={"query": login, "variables": {"e": email, "p": password}}).json()
    payload = body["data"]["login"]
    assert payload["errors"] == [], body
    return email, payload["accessToken"], payload["user"]["id"]


@pytest.fixture(scope="package")
def accounts(server: Server) -> Accounts:
    admin_email, _, admin_id = sign_up(server, "admin")
    done = server.cli("create-admin", "--email", admin_email, "--password", "correct horse battery staple")
    assert done.returncode == 0, done.stderr
    login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
    body = httpx.post(
        server.graphql_url,
        json={"query": login, "variables": {"e": admin_email, "p": "correct horse battery staple"}},
    ).json()
    _, customer, customer_id = sign_up(server, "customer")
    _, other, _ = sign_up(server, "other")
    return Accounts(body["data"]["login"]["accessToken"], customer, other, admin_id, customer_id)
