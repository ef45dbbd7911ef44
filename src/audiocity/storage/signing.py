"""HMAC-signed download links for the local storage backend, and the Content-Disposition they ask for.

The link carries everything the file route needs (expiry, user, file name, content type), so the
route needs no database lookup; the signature makes those fields tamper-proof.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

# Keeps these signatures apart from anything else signed with the same SECRET_KEY (tokens).
_PURPOSE = "audiocity.storage.download.v1"
_UPLOAD_PURPOSE = "audiocity.storage.upload.v1"

# RFC 5987 attr-char, minus ALPHA / DIGIT which `quote` never escapes.
_ATTR_CHARS = "!#$&+-.^_`|~"


@dataclass(frozen=True)
class DownloadGrant:
    """The signed fields of a download link, as checked by `verify`."""

    key: str
    expires_at: int
    user_id: str | None
    filename: str
    content_type: str


def sign(secret: str, grant: DownloadGrant) -> str:
    """Hex HMAC-SHA256 over the fields, JSON-encoded so no two field tuples share a message."""
    message = json.dumps(
        [_PURPOSE, grant.key, grant.expires_at, grant.user_id or "", grant.filename, grant.content_type],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def query_params(secret: str, grant: DownloadGrant) -> dict[str, str]:
    """The query parameters of a signed link (the key itself goes in the path)."""
    return {
        "exp": str(grant.expires_at),
        "u": grant.user_id or "",
        "fn": grant.filename,
        "ct": grant.content_type,
        "sig": sign(secret, grant),
    }


def verify(secret: str, key: str, params: Mapping[str, str], *, now: float | None = None) -> DownloadGrant | None:
    """The grant if the signature matches and the link has not expired, else None."""
    try:
        expires_at = int(params["exp"])
        grant = DownloadGrant(
            key=key,
            expires_at=expires_at,
            user_id=params.get("u") or None,
            filename=params["fn"],
            content_type=params["ct"],
        )
        signature = params["sig"]
    except (KeyError, ValueError):
        return None
    if not hmac.compare_digest(sign(secret, grant), signature):
        return None
    if expires_at <= (time.time() if now is None else now):
        return None
    return grant


def is_expired(params: Mapping[str, str], *, now: float | None = None) -> bool:
    """Whether the link's `exp` is in the past; only used to word a refusal, never to grant access."""
    try:
        return int(params["exp"]) <= (time.time() if now is None else now)
    except (KeyError, ValueError):
        return False


@dataclass(frozen=True)
class UploadGrant:
    """The signed fields of a local resumable upload URL: what may be written where, and until when."""

    key: str
    size: int
    content_type: str
    expires_at: int


def sign_upload(secret: str, grant: UploadGrant) -> str:
    message = json.dumps(
        [_UPLOAD_PURPOSE, grant.key, grant.size, grant.content_type, grant.expires_at],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def upload_query_params(secret: str, grant: UploadGrant) -> dict[str, str]:
    """The query parameters of a signed upload URL (the key itself goes in the path)."""
    return {
        "size": str(grant.size),
        "ct": grant.content_type,
        "exp": str(grant.expires_at),
        "sig": sign_upload(secret, grant),
    }


def verify_upload(secret: str, key: str, params: Mapping[str, str], *, now: float | None = None) -> UploadGrant | None:
    """The grant if the signature matches and the session has not expired, else None."""
    try:
        grant = UploadGrant(key=key, size=int(params["size"]), content_type=params["ct"], expires_at=int(params["exp"]))
        signature = params["sig"]
    except (KeyError, ValueError):
        return None
    if not hmac.compare_digest(sign_upload(secret, grant), signature):
        return None
    if grant.expires_at <= (time.time() if now is None else now):
        return None
    return grant


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback `filename` and the exact name in `filename*` (RFC 6266/5987)."""
    name = "".join(c for c in filename.replace("/", "_").replace("\\", "_") if unicodedata.category(c)[0] != "C")
    name = name.strip() or "download"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() and c not in '"\\%' else "_" for c in fallback).strip()
    if not fallback.strip("._ "):
        fallback = "download"
    elif fallback.startswith("."):
        fallback = "download" + fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
