"""Password reset by email (through the outbox), password change, and what both do to sessions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.auth.tokens import hash_opaque_token
from audiocity.db import session_scope
from audiocity.models import PasswordResetToken, utcnow
from tests.accounts.conftest import (
    AUTH_FIELDS,
    RESET_URL,
    body,
    emails_to,
    login,
    refresh,
    register,
    wait_for_email,
)
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server
from tests.factories import unique_email
from tests.fakes.oidc_provider import FakeOidcProvider

REQUEST = """mutation($e: String!) { requestPasswordReset(email: $e) { ok message errors { code field message } } }"""
RESET = f"""mutation($t: String!, $p: String!) {{ resetPassword(token: $t, newPassword: $p) {{ {AUTH_FIELDS} }} }}"""
CHANGE = f"""mutation($c: String!, $n: String!) {{
  changePassword(currentPassword: $c, newPassword: $n) {{ {AUTH_FIELDS} }} }}"""
LINK = re.compile(re.escape(RESET_URL.split("{token}")[0]) + r"([A-Za-z0-9_\-]+)")
OLD, NEW = "the old password", "a brand new password"


async def reset_token_from_email(server: Server, address: str) -> str:
    message = await wait_for_email(server, address, "Reset your AudioCity password")
    text_link = LINK.search(body(message, "plain"))
    html_link = LINK.search(body(message, "html"))
    assert text_link and html_link, body(message, "plain")
    assert text_link.group(1) == html_link.group(1)
    return text_link.group(1)


async def test_the_answer_is_the_same_for_known_and_unknown_emails(app_server: Server, http: httpx.AsyncClient) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    known, unknown = unique_email(), unique_email()
    await register(gql, known, OLD)

    for_unknown = (await gql(REQUEST, e=unknown))["requestPasswordReset"]
    for_known = (await gql(REQUEST, e=known))["requestPasswordReset"]

    assert for_known == for_unknown
    assert for_known["ok"] is True and for_known["errors"] == []
    await wait_for_email(app_server, known, "Reset your AudioCity password")
    assert emails_to(app_server, unknown) == []
    malformed = (await gql(REQUEST, e="not an email"))["requestPasswordReset"]
    assert malformed["errors"][0]["code"] == "INVALID"


async def test_the_emailed_link_resets_the_password_once_and_signs_out_everywhere(
    app_server: Server, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    registered = await register(gql, address, OLD)
    other_device = await login(gql, address, OLD)
    await gql(REQUEST, e=address)
    token = await reset_token_from_email(app_server, address)

    weak = (await gql(RESET, t=token, p="short"))["resetPassword"]
    assert weak["errors"][0]["code"] == "WEAK_PASSWORD"  # refused before the token is spent
    result = (await gql(RESET, t=token, p=NEW))["resetPassword"]

    assert result["errors"] == [] and result["user"]["email"] == address and result["accessToken"]
    assert (await login(gql, address, OLD))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert (await login(gql, address, NEW))["errors"] == []
    for old in (registered["refreshToken"], other_device["refreshToken"]):
        assert (await refresh(gql, old))["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await refresh(gql, result["refreshToken"]))["errors"] == []
    again = (await gql(RESET, t=token, p="yet another password"))["resetPassword"]
    assert again["errors"][0]["code"] == "INVALID_TOKEN" and again["accessToken"] is None


async def test_an_expired_reset_link_is_refused(
    app_server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    await register(gql, address, OLD)
    await gql(REQUEST, e=address)
    token = await reset_token_from_email(app_server, address)
    async with session_scope(sessions) as session:  # 31 minutes later
        await session.execute(
            update(PasswordResetToken)
            .where(col(PasswordResetToken.token_hash) == hash_opaque_token(token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )

    result = (await gql(RESET, t=token, p=NEW))["resetPassword"]

    assert result["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await login(gql, address, OLD))["errors"] == []


async def test_the_reset_token_is_stored_hashed_and_expires_in_30_minutes(
    app_server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    await register(gql, address, OLD)
    await gql(REQUEST, e=address)
    token = await reset_token_from_email(app_server, address)
    async with sessions() as session:
        stored = (
            await session.execute(
                select(PasswordResetToken).where(col(PasswordResetToken.token_hash) == hash_opaque_token(token))
            )
        ).scalar_one()
        plain = await session.scalar(select(func.count()).where(col(PasswordResetToken.token_hash) == token))
    assert plain == 0  # only the hash is stored
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(minutes=29) < lifetime <= timedelta(minutes=30, seconds=1)


async def test_a_google_only_account_sets_a_password_through_reset(
    app_server: Server, http: httpx.AsyncClient, oidc: FakeOidcProvider
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    oidc.next_user = {"sub": f"google-{uuid.uuid4().hex}", "email": address, "email_verified": True}
    signed_up = (
        await gql(f"mutation($t: String!) {{ signInWithGoogle(idToken: $t) {{ {AUTH_FIELDS} }} }}", t=oidc.id_token())
    )["signInWithGoogle"]
    assert signed_up["user"]["signInMethods"] == ["GOOGLE"]
    viewer = GraphQLClient(http, app_server.graphql_url, signed_up["accessToken"])
    no_password = (await viewer(CHANGE, c="anything at all", n=NEW))["changePassword"]
    assert no_password["errors"][0]["code"] == "NO_PASSWORD"
    assert (await login(gql, address, NEW))["errors"][0]["code"] == "INVALID_CREDENTIALS"

    await gql(REQUEST, e=address)
    token = await reset_token_from_email(app_server, address)
    result = (await gql(RESET, t=token, p=NEW))["resetPassword"]

    assert result["user"]["signInMethods"] == ["PASSWORD", "GOOGLE"]
    assert (await login(gql, address, NEW))["errors"] == []


async def test_change_password_checks_the_current_one_and_signs_out_everywhere(
    app_server: Server, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    registered = await register(gql, address, OLD)
    other_device = await login(gql, address, OLD)
    viewer = GraphQLClient(http, app_server.graphql_url, registered["accessToken"])

    wrong = (await viewer(CHANGE, c="not the password", n=NEW))["changePassword"]
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS" and wrong["errors"][0]["field"] == "currentPassword"
    weak = (await viewer(CHANGE, c=OLD, n="short"))["changePassword"]
    assert weak["errors"][0]["code"] == "WEAK_PASSWORD"
    assert (await refresh(gql, other_device["refreshToken"]))["errors"] == []  # nothing changed yet
    other_device = await login(gql, address, OLD)

    changed = (await viewer(CHANGE, c=OLD, n=NEW))["changePassword"]

    assert changed["errors"] == [] and changed["refreshToken"]
    for old in (registered["refreshToken"], other_device["refreshToken"]):
        assert (await refresh(gql, old))["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await refresh(gql, changed["refreshToken"]))["errors"] == []  # this client stays signed in
    assert (await login(gql, address, OLD))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert (await login(gql, address, NEW))["errors"] == []
