"""A real `audiocity serve` with Google sign-in pointed at a loopback OIDC provider and mail in the outbox.

One server for the package; its in-process worker takes the email messages from the shared Redis
queue, so tests that need a server with other mail settings live in another package (tests/mail).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from audiocity.auth.tokens import create_access_token
from audiocity.models import User
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider

RESET_URL = "https://shop.example/reset?token={token}"
AUTH_FIELDS = "user { id email displayName role signInMethods } accessToken refreshToken errors { code field message }"


@pytest.fixture(scope="package")
def oidc() -> Iterator[FakeOidcProvider]:
    with FakeOidcProvider() as provider:
        yield provider


@pytest.fixture(scope="package")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, oidc: FakeOidcProvider
) -> Iterator[Server]:
    env = {
        "GOOGLE_CLIENT_ID": CLIENT_ID,
        "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_DISCOVERY_URL": oidc.discovery_url,
        "SIGN_IN_REDIRECT_URL": oidc.frontend_url,
        "PASSWORD_RESET_URL": RESET_URL,
    }
    with run_server(tmp_path_factory.mktemp("accounts-app"), database_url, redis_url, **env) as running:
        yield running


def outbox(server: Server) -> Path:
    return Path(server.env["AUDIOCITY_DATA_DIR"]) / "outbox"


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def wait_for_email(server: Server, to: str, subject_part: str, wait_seconds: float = 30) -> EmailMessage:
    """The first outbox message to `to` whose subject contains `subject_part` (the worker writes it)."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        folder = outbox(server)
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            message = read_eml(path)
            if to in str(message["To"]) and subject_part in str(message["Subject"]):
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email to {to} about {subject_part!r}:\n{server.log()[-3000:]}")


def emails_to(server: Server, to: str) -> list[EmailMessage]:
    folder = outbox(server)
    messages = [read_eml(p) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []
    return [m for m in messages if to in str(m["To"])]


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content: Any = part.get_content()  # type: ignore[attr-defined]
    return str(content)


def client_for(server: Server, http: httpx.AsyncClient, user: User | None) -> GraphQLClient:
    token = create_access_token(server.env["SECRET_KEY"], user.id, user.role.value, 900) if user else None
    return GraphQLClient(http, server.graphql_url, token)


async def register(gql: GraphQLClient, email_address: str, password: str) -> dict[str, Any]:
    query = f"""mutation($e: String!, $p: String!) {{
      register(input: {{email: $e, password: $p}}) {{ {AUTH_FIELDS} }} }}"""
    created: dict[str, Any] = (await gql(query, e=email_address, p=password))["register"]
    assert created["errors"] == [], created
    # `register` never signs in (it must not reveal taken addresses): sign in as a client would next.
    result = await login(gql, email_address, password)
    assert result["errors"] == [], result
    return result


async def login(gql: GraphQLClient, email_address: str, password: str) -> dict[str, Any]:
    query = f"""mutation($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ {AUTH_FIELDS} }} }}"""
    result: dict[str, Any] = (await gql(query, e=email_address, p=password))["login"]
    return result


async def refresh(gql: GraphQLClient, token: str) -> dict[str, Any]:
    query = f"""mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH_FIELDS} }} }}"""
    result: dict[str, Any] = (await gql(query, t=token))["refreshToken"]
    return result
