"""Who is calling: the client address that rate limits and socket caps are counted by."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def client_address(conn: HTTPConnection, trust_forwarded_for: bool = False) -> str:
    """The peer address, or the first `X-Forwarded-For` hop when the deployment says a proxy sets it."""
    if trust_forwarded_for:
        forwarded = conn.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return conn.client.host if conn.client else "unknown"
