"""Who may call each account operation: anonymous, customer and admin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.models import Role
from tests.accounts.conftest import client_for
from tests.e2e.server import Server
from tests.factories import make_user

ANYONE = {
    "requestPasswordReset": ('mutation { requestPasswordReset(email: "nobody@example.com") { ok } }', None),
    "resetPassword": ('mutation { resetPassword(token: "bogus", newPassword: "long enough!") { errors { code } } }',
                      "INVALID_TOKEN"),
    "signInWithGoogle": ('mutation { signInWithGoogle(idToken: "bogus") { errors { code } } }', "INVALID_TOKEN"),
    "exchangeSignInCode": ('mutation { exchangeSignInCode(code: "bogus") { errors { code } } }', "INVALID_TOKEN"),
    "logout": ('mutation { logout(refreshToken: "bogus") { ok } }', None),
}  # fmt: skip
SIGNED_IN = {
    "changePassword": 'mutation { changePassword(currentPassword: "x", newPassword: "long enough!") { errors { code } } }',  # noqa: E501
    "logoutEverywhere": "mutation { logoutEverywhere { ok } }",
    "updateMe": 'mutation { updateMe(input: {displayName: "Renamed"}) { user { displayName } } }',
    "me": "{ me { signInMethods } }",
}


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.ADMIN], ids=["anonymous", "customer", "admin"])
async def test_permissions(
    app_server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role: Role | None
) -> None:
    user = None
    if role is not None:
        async with session_scope(sessions) as session:
            user = await make_user(session, role)
    gql = client_for(app_server, http, user)

    for name, (query, payload_code) in ANYONE.items():
        body = await gql.raw(query)
        assert "errors" not in body, (name, body)
        if payload_code:
            assert body["data"][name]["errors"][0]["code"] == payload_code, name

    for name, query in SIGNED_IN.items():
        body = await gql.raw(query)
        if user is None:
            assert error_codes(body) == ["UNAUTHENTICATED"], (name, body)
        else:
            assert "errors" not in body, (name, body)
    if user is not None:
        me = (await gql("{ me { displayName signInMethods } }"))["me"]
        assert me == {"displayName": "Renamed", "signInMethods": []}  # made without a password or Google
