"""Google sign-in against a loopback OIDC provider: the browser redirect flow and `signInWithGoogle`."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.accounts.conftest import AUTH_FIELDS, register
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server
from tests.factories import unique_email
from tests.fakes.oidc_provider import FakeOidcProvider, new_key

SIGN_IN = f"""mutation($t: String!, $n: String) {{ signInWithGoogle(idToken: $t, nonce: $n) {{ {AUTH_FIELDS} }} }}"""
EXCHANGE = f"""mutation($c: String!) {{ exchangeSignInCode(code: $c) {{ {AUTH_FIELDS} }} }}"""
ME = "{ me { id email displayName signInMethods } }"


def google_user(oidc: FakeOidcProvider, **extra: Any) -> str:
    address = unique_email()
    oidc.next_user = {"sub": f"google-{uuid.uuid4().hex}", "email": address, "email_verified": True, **extra}
    return address


async def sign_in(gql: GraphQLClient, token: str, nonce: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(SIGN_IN, t=token, n=nonce))["signInWithGoogle"]
    return result


async def browser_sign_in(server: Server) -> httpx.Response:
    """Follow every redirect from the login link, keeping cookies, as a browser does."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as browser:
        return await browser.get(f"{server.base_url}/auth/google/login")


async def test_redirect_flow_ends_with_a_one_time_code(app_server: Server, oidc: FakeOidcProvider) -> None:
    address = google_user(oidc, name="Grace Hopper")

    response = await browser_sign_in(app_server)

    assert response.status_code == 200 and response.text == "frontend"
    landed = urlsplit(str(response.url))
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == oidc.frontend_url
    code = parse_qs(landed.query)["code"][0]
    # the authorize request carried state, nonce and a PKCE S256 challenge
    sent = oidc.authorize_requests[-1]
    assert sent["state"] and sent["nonce"] and sent["code_challenge"] and sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == f"{app_server.base_url}/auth/google/callback"
    # no token of ours travels in any URL of the chain
    for hop in [*response.history, response]:
        assert "accessToken" not in str(hop.url) and "refresh" not in str(hop.url).lower()

    async with httpx.AsyncClient(timeout=30) as http:
        result = (await GraphQLClient(http, app_server.graphql_url)(EXCHANGE, c=code))["exchangeSignInCode"]
        assert result["errors"] == []
        assert result["user"]["email"] == address
        assert result["user"]["displayName"] == "Grace Hopper"
        assert result["user"]["signInMethods"] == ["GOOGLE"]
        me = (await GraphQLClient(http, app_server.graphql_url, result["accessToken"])(ME))["me"]
        assert me["email"] == address
        # the code works once
        again = (await GraphQLClient(http, app_server.graphql_url)(EXCHANGE, c=code))["exchangeSignInCode"]
        assert again["accessToken"] is None
        assert again["errors"][0]["code"] == "INVALID_TOKEN"


async def test_a_tampered_state_is_refused(app_server: Server, oidc: FakeOidcProvider) -> None:
    google_user(oidc)
    async with httpx.AsyncClient(timeout=30) as browser:
        to_provider = await browser.get(f"{app_server.base_url}/auth/google/login")
        assert to_provider.status_code == 302
        to_callback = await browser.get(to_provider.headers["location"])
        callback = urlsplit(to_callback.headers["location"])
        params = parse_qs(callback.query)
        forged = f"{app_server.base_url}{callback.path}?code={params['code'][0]}&state=forged-state"
        back = await browser.get(forged, follow_redirects=True)
    landed = parse_qs(urlsplit(str(back.url)).query)
    assert "code" not in landed
    assert landed["error"] == ["mismatching_state"]


async def test_a_callback_without_the_flow_cookie_is_refused(app_server: Server, oidc: FakeOidcProvider) -> None:
    google_user(oidc)
    async with httpx.AsyncClient(timeout=30) as browser:
        to_provider = await browser.get(f"{app_server.base_url}/auth/google/login")
        to_callback = await browser.get(to_provider.headers["location"])
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as other_browser:  # no session cookie
        back = await other_browser.get(to_callback.headers["location"])
    landed = parse_qs(urlsplit(str(back.url)).query)
    assert "code" not in landed and landed["error"]


async def test_google_links_to_the_account_with_the_same_verified_email(
    app_server: Server, oidc: FakeOidcProvider, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = unique_email()
    registered = await register(gql, address, "a long enough password")
    oidc.next_user = {"sub": f"google-{uuid.uuid4().hex}", "email": address.upper(), "email_verified": True}

    result = await sign_in(gql, oidc.id_token())

    assert result["errors"] == []
    assert result["user"]["id"] == registered["user"]["id"]
    assert result["user"]["signInMethods"] == ["PASSWORD", "GOOGLE"]
    # the redirect flow finds the same, now linked, account
    response = await browser_sign_in(app_server)
    code = parse_qs(urlsplit(str(response.url)).query)["code"][0]
    exchanged = (await gql(EXCHANGE, c=code))["exchangeSignInCode"]
    assert exchanged["user"]["id"] == registered["user"]["id"]


async def test_sign_in_with_a_good_id_token_creates_the_account_once(
    app_server: Server, oidc: FakeOidcProvider, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    address = google_user(oidc)
    first = await sign_in(gql, oidc.id_token())
    second = await sign_in(gql, oidc.id_token())
    assert first["errors"] == [] and second["errors"] == []
    assert first["user"]["email"] == address
    assert first["user"]["id"] == second["user"]["id"]
    me = (await GraphQLClient(http, app_server.graphql_url, second["accessToken"])(ME))["me"]
    assert me["signInMethods"] == ["GOOGLE"]


async def test_bad_id_tokens_are_refused(app_server: Server, oidc: FakeOidcProvider, http: httpx.AsyncClient) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    google_user(oidc)
    now = int(time.time())
    impostor = new_key()
    impostor_same_kid = type(impostor).generate_key(2048, parameters={"kid": str(oidc.keys[0].kid)})
    cases = {
        "expired": oidc.id_token(iat=now - 7200, exp=now - 3600),
        "wrong audience": oidc.id_token(aud="someone-else.apps.example"),
        "wrong issuer": oidc.id_token(iss="https://evil.example"),
        "signed with an unpublished key": oidc.id_token(key=impostor),
        "badly signed": oidc.id_token(key=impostor_same_kid),
        "not a JWT": "not-a-token",
    }
    for case, token in cases.items():
        result = await sign_in(gql, token)
        assert result["accessToken"] is None, case
        assert [e["code"] for e in result["errors"]] == ["INVALID_TOKEN"], (case, result)
        assert result["errors"][0]["field"] == "idToken"

    unverified = await sign_in(gql, oidc.id_token(email_verified=False))
    assert [e["code"] for e in unverified["errors"]] == ["EMAIL_NOT_VERIFIED"]
    assert unverified["accessToken"] is None


async def test_the_nonce_is_checked_when_given(
    app_server: Server, oidc: FakeOidcProvider, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    google_user(oidc)
    token = oidc.id_token(nonce="nonce-1")
    assert (await sign_in(gql, token, nonce="nonce-2"))["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await sign_in(gql, token, nonce="nonce-1"))["errors"] == []


async def test_key_rotation_at_the_provider(
    app_server: Server, oidc: FakeOidcProvider, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http, app_server.graphql_url)
    google_user(oidc)
    old_key = oidc.keys[0]
    assert (await sign_in(gql, oidc.id_token()))["errors"] == []  # the JWKS is cached from here
    fetches = oidc.jwks_fetches
    assert (await sign_in(gql, oidc.id_token()))["errors"] == []
    assert oidc.jwks_fetches == fetches  # cached: no fetch per sign-in

    oidc.rotate()

    assert (await sign_in(gql, oidc.id_token()))["errors"] == []  # unknown kid: the JWKS is fetched again
    assert oidc.jwks_fetches == fetches + 1
    retired = await sign_in(gql, oidc.id_token(key=old_key))
    assert retired["errors"][0]["code"] == "INVALID_TOKEN"
