"""Refresh-token families over GraphQL: rotation, theft detection, logout, logout everywhere; `updateMe`."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.auth.tokens import hash_opaque_token
from audiocity.models import RefreshToken
from tests.accounts.conftest import login, refresh, register
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server
from tests.factories import unique_email

PASSWORD = "a long enough password"
LOGOUT = """mutation($t: String!) { logout(refreshToken: $t) { ok errors { code } } }"""
LOGOUT_EVERYWHERE = """mutation { logoutEverywhere { ok errors { code } } }"""
UPDATE_ME = """mutation($n: String) { updateMe(input: {displayName: $n}) {
  user { id displayName } errors { code field message } } }"""


async def token_rows(sessions: async_sessionmaker[AsyncSession], *tokens: str) -> list[RefreshToken]:
    async with sessions() as session:
        return [
            (
                await session.execute(select(RefreshToken).where(col(RefreshToken.token_hash) == hash_opaque_token(t)))
            ).scalar_one()
            for t in tokens
        ]


async def test_reusing_a_rotated_token_revokes_the_family(
    app_server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    first = await register(gql, address, PASSWORD)
    other_sign_in = await login(gql, address, PASSWORD)
    second = await refresh(gql, first["refreshToken"])
    third = await refresh(gql, second["refreshToken"])
    assert second["errors"] == [] and third["errors"] == []

    replayed = await refresh(gql, first["refreshToken"])  # a copy of an old token comes back

    assert replayed["accessToken"] is None
    assert replayed["errors"][0]["code"] == "TOKEN_REUSED"
    assert "signed out" in replayed["errors"][0]["message"]
    latest = await refresh(gql, third["refreshToken"])  # the thief's (or victim's) newest token died with it
    assert latest["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await refresh(gql, other_sign_in["refreshToken"]))["errors"] == []  # another family is untouched

    rows = await token_rows(sessions, first["refreshToken"], second["refreshToken"], third["refreshToken"])
    assert len({r.family_id for r in rows}) == 1
    assert len({r.expires_at for r in rows}) == 1  # the family's absolute end never moved
    assert all(r.revoked_at is not None for r in rows)


async def test_logout_ends_the_family_and_logout_everywhere_ends_all(
    app_server: Server, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    phone = await register(gql, address, PASSWORD)
    laptop = await login(gql, address, PASSWORD)
    tablet = await login(gql, address, PASSWORD)
    rotated = await refresh(gql, phone["refreshToken"])

    assert (await gql(LOGOUT, t=phone["refreshToken"]))["logout"]["ok"] is True  # an older token of the family

    assert (await refresh(gql, rotated["refreshToken"]))["errors"][0]["code"] == "INVALID_TOKEN"
    laptop = await refresh(gql, laptop["refreshToken"])
    assert laptop["errors"] == []

    viewer = GraphQLClient(http, app_server.graphql_url, laptop["accessToken"])
    assert (await viewer(LOGOUT_EVERYWHERE))["logoutEverywhere"]["ok"] is True

    for token in (laptop["refreshToken"], tablet["refreshToken"]):
        assert (await refresh(gql, token))["errors"][0]["code"] == "INVALID_TOKEN"


async def test_update_me_changes_the_display_name(app_server: Server, http: httpx.AsyncClient) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    signed_in = await register(gql, unique_email(), PASSWORD)
    viewer = GraphQLClient(http, app_server.graphql_url, signed_in["accessToken"])

    updated = (await viewer(UPDATE_ME, n="  Ada Lovelace "))["updateMe"]
    assert updated["errors"] == [] and updated["user"]["displayName"] == "Ada Lovelace"
    assert (await viewer("{ me { displayName signInMethods } }"))["me"] == {
        "displayName": "Ada Lovelace",
        "signInMethods": ["PASSWORD"],
    }
    blank = (await viewer(UPDATE_ME, n="   "))["updateMe"]
    assert blank["errors"][0]["code"] == "INVALID" and blank["errors"][0]["field"] == "displayName"
    assert (await viewer("{ me { displayName } }"))["me"]["displayName"] == "Ada Lovelace"
