"""Google (any OIDC provider) sign-in by redirect: `/auth/google/login` -> provider -> `/auth/google/callback`.

authlib's Starlette client keeps `state`, `nonce` and the PKCE `code_verifier` in a signed session
cookie between the two legs and checks them on the way back. The callback never puts tokens in a
URL: it ends at the frontend (`SIGN_IN_REDIRECT_URL`) with a short-lived one-time `code`, which
the frontend trades for tokens with the `exchangeSignInCode` mutation, or with `error` and
`error_description` when sign-in failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from audiocity.auth.oidc import InvalidIdToken, ProviderUnavailable
from audiocity.config import Settings
from audiocity.db import session_scope
from audiocity.http.container import resources
from audiocity.services import accounts
from audiocity.services.errors import ServiceError

log = logging.getLogger(__name__)
CALLBACK_PATH = "/auth/google/callback"
STATE_COOKIE = "audiocity_signin"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def google_routes(settings: Settings) -> list[Route]:
    """The two routes, each wrapped in the session middleware that holds the flow's state."""
    oauth: Any = None
    if settings.google_client_id:  # authlib's client (and httpx under it) is loaded only when it is used
        from authlib.integrations.starlette_client import OAuth

        oauth = OAuth()
        oauth.register(
            name="google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            server_metadata_url=settings.oidc_discovery_url,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
    frontend = settings.resolved_sign_in_redirect_url

    def fail(error: str, description: str) -> Response:
        return RedirectResponse(_with_query(frontend, error=error, error_description=description), status_code=303)

    async def login(request: Request) -> Response:
        client: Any = oauth.create_client("google") if oauth is not None else None
        if client is None:
            return PlainTextResponse("Google sign-in is not configured.", status_code=404)
        try:
            response: Response = await client.authorize_redirect(request, settings.base_url + CALLBACK_PATH)
        except Exception as exc:  # discovery unreachable or unusable
            log.warning("could not start the sign-in redirect: %s", exc)
            return fail("provider_unavailable", "The sign-in provider cannot be reached; try again later.")
        return response

    async def callback(request: Request) -> Response:
        client: Any = oauth.create_client("google") if oauth is not None else None
        res = resources(request)
        if client is None or res.oidc is None:
            return PlainTextResponse("Google sign-in is not configured.", status_code=404)
        from authlib.integrations.starlette_client import OAuthError

        try:
            token = await client.authorize_access_token(request)
            identity = await res.oidc.verify_id_token(str(token.get("id_token", "")))
        except OAuthError as exc:  # state mismatch, denied consent, bad code, bad nonce
            log.info("sign-in callback refused: %s", exc)
            return fail(exc.error or "access_denied", exc.description or "Sign-in was not completed.")
        except InvalidIdToken as exc:
            return fail("invalid_id_token", str(exc))
        except ProviderUnavailable:
            return fail("provider_unavailable", "The sign-in provider cannot be reached; try again later.")
        try:
            async with session_scope(res.sessions) as session:
                user = await accounts.user_for_identity(session, identity)
                code = await accounts.create_sign_in_code(
                    session, user.id, timedelta(seconds=settings.sign_in_code_ttl_seconds)
                )
        except ServiceError as exc:
            return fail(exc.code.value.lower(), exc.message)
        return RedirectResponse(_with_query(frontend, code=code), status_code=303)

    def with_session(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
        return SessionMiddleware(
            request_response(endpoint),
            secret_key=settings.resolved_secret_key(),
            session_cookie=STATE_COOKIE,
            max_age=600,
            path="/auth/google",
            same_site="lax",  # the provider sends the browser back with a top-level GET
            https_only=settings.session_cookie_https_only,
        )

    return [
        Route("/auth/google/login", with_session(login)),
        Route(CALLBACK_PATH, with_session(callback)),
    ]
