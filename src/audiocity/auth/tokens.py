"""Short-lived JWT access tokens (HS256) and opaque refresh tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "audiocity"


class InvalidToken(Exception):
    """Expired, tampered or malformed."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    expires_at: datetime


def create_access_token(secret: str, user_id: uuid.UUID, role: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "iss": ISSUER,
        "sub": str(user_id),
        "role": role,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_access_token(secret: str, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]})
        if payload.get("typ") != "access":
            raise InvalidToken("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(payload["sub"]),
            role=str(payload.get("role", "")),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc


@dataclass(frozen=True)
class TokenConfig:
    """How this deployment signs tokens; the one place an access token is decoded."""

    secret: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int

    def decode(self, token: str) -> AccessClaims:
        """The claims of a valid access token; raises InvalidToken otherwise."""
        return decode_access_token(self.secret, token)


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
