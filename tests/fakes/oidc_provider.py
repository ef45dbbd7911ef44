"""A small OpenID Connect provider on loopback, speaking the real protocol to the real authlib client.

Discovery, JWKS, an authorize endpoint that signs in `next_user` at once (the consent screen a
browser would see), a token endpoint that checks the client secret, the redirect URI and the PKCE
verifier, and a `/frontend` page standing in for the shop's web app. ID tokens are RS256 JWTs
signed with a real RSA key; `rotate()` replaces the key the way providers rotate theirs.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.threaded_server import ThreadedServer

CLIENT_ID = "audiocity-test.apps.example"
CLIENT_SECRET = "test-client-secret"


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    claims: dict[str, Any]
    redirect_uri: str
    code_challenge: str
    nonce: str | None


@dataclass
class FakeOidcProvider:
    keys: list[RSAKey] = field(default_factory=lambda: [new_key()])
    next_user: dict[str, Any] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_fetches: int = 0
    server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def frontend_url(self) -> str:
        return f"{self.base_url}/frontend"

    def rotate(self) -> None:
        """Publish a new signing key and drop the old one."""
        self.keys = [new_key()]

    def id_token(self, key: RSAKey | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": self.next_user.get("sub", secrets.token_hex(8)),
            "email": self.next_user.get("email"),
            "email_verified": self.next_user.get("email_verified", True),
            "name": self.next_user.get("name", "Test Person"),
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signing = key or self.keys[0]
        return jwt.encode({"alg": "RS256", "kid": signing.kid}, claims, signing)

    # -- endpoints ------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse(KeySet(list(self.keys)).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
            return PlainTextResponse("bad client or response type", status_code=400)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return PlainTextResponse("PKCE required", status_code=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            claims=dict(self.next_user),
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
        )
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != expected and (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code", "")), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant.code_challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        saved, self.next_user = self.next_user, grant.claims
        try:
            id_token = self.id_token(nonce=grant.nonce)
        finally:
            self.next_user = saved
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
            }
        )

    async def frontend(self, request: Request) -> Response:
        return PlainTextResponse("frontend")

    def __enter__(self) -> FakeOidcProvider:
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/frontend", self.frontend),
            ]
        )
        self.server = ThreadedServer(app, "fake-oidc")
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.stop()
