"""Verify OpenID Connect ID tokens (Google's by default) against the provider's published keys.

The provider is found through its discovery document (`OIDC_DISCOVERY_URL`). Its JWKS is cached
and fetched again when a token names a key id the cache does not know (providers rotate keys);
a key id still unknown after a fresh fetch is remembered for a while, so junk tokens cannot make
us fetch the JWKS on every request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
# Google documents both spellings of its issuer in ID tokens.
_ISSUER_ALIASES = {"https://accounts.google.com": {"https://accounts.google.com", "accounts.google.com"}}
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
UNKNOWN_KID_TTL = 60.0
LEEWAY_SECONDS = 30


class InvalidIdToken(Exception):
    """The ID token is malformed, badly signed, expired, or for someone else; the message says which."""


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched."""


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class OidcProvider:
    """One configured provider: discovery, cached JWKS, ID-token verification."""

    def __init__(self, discovery_url: str, client_id: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.discovery_url = discovery_url
        self.client_id = client_id
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._unknown_kids: dict[str, float] = {}
        self._metadata_lock = asyncio.Lock()
        self._keys_lock = asyncio.Lock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            if self._http is not None:
                response = await self._http.get(url)
            else:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(url)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"could not fetch {url}: {exc}") from exc
        return data

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with self._metadata_lock:
                if self._metadata is None:
                    self._metadata = await self._get_json(self.discovery_url)
        return self._metadata

    async def _fetch_keys(self) -> KeySet:
        jwks_uri = (await self.metadata()).get("jwks_uri")
        if not jwks_uri:
            raise ProviderUnavailable("the discovery document has no jwks_uri")
        try:
            return KeySet.import_key_set(await self._get_json(str(jwks_uri)))  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError) as exc:
            raise ProviderUnavailable(f"unusable JWKS: {exc}") from exc

    @staticmethod
    def _has_kid(keys: KeySet, kid: str | None) -> bool:
        if kid is None:
            return True  # no kid: try every key
        try:
            keys.get_by_kid(kid)
        except (JoseError, ValueError):
            return False
        return True

    async def keys_for(self, kid: str | None) -> KeySet:
        """The key set, fetched again if `kid` is new to us (a rotation at the provider)."""
        async with self._keys_lock:
            if self._keys is not None and self._has_kid(self._keys, kid):
                return self._keys
            now = time.monotonic()
            if self._keys is not None and kid is not None and now - self._unknown_kids.get(kid, -1e9) < UNKNOWN_KID_TTL:
                raise InvalidIdToken("The ID token is signed with an unknown key.")
            self._keys = await self._fetch_keys()
            if not self._has_kid(self._keys, kid):
                assert kid is not None
                self._unknown_kids[kid] = now
                raise InvalidIdToken("The ID token is signed with an unknown key.")
            return self._keys

    def _issuers(self, issuer: str) -> set[str]:
        return _ISSUER_ALIASES.get(issuer.rstrip("/"), {issuer})

    async def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> Identity:
        """Check signature, `iss`, `aud` (and `azp`), `exp`, `iat`, and `nonce` when given."""
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise InvalidIdToken("The ID token is malformed.") from exc
        kid = header.get("kid")
        keys = await self.keys_for(str(kid) if kid is not None else None)
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidIdToken("The ID token's signature is not valid.") from exc
        claims = token.claims
        issuer = str((await self.metadata()).get("issuer", ""))
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "values": sorted(self._issuers(issuer))},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidIdToken(f"The ID token is not valid here: {exc.description or exc.error}.") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise InvalidIdToken("The ID token was issued to another client.")
        if nonce is not None and claims.get("nonce") != nonce:
            raise InvalidIdToken("The ID token's nonce does not match.")
        verified = claims.get("email_verified")
        return Identity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=str(claims["email"]) if claims.get("email") else None,
            email_verified=verified is True or verified == "true",
            name=str(claims["name"]) if claims.get("name") else None,
        )
