"""Cross-origin access for browser frontends on other origins (`CORS_ORIGINS`).

HTTP goes through Starlette's CORSMiddleware, over the whole app: `/graphql` and the local storage's
upload, download and bundle routes. Preflights are cached by browsers for `CORS_MAX_AGE` seconds, and
the headers a client reads (`X-Request-ID`, `ETag`, `Range`, `Content-Range`...) are exposed.

Browsers do not apply CORS to WebSockets, so the subscription socket checks `Origin` against the same
list (Strawberry's `allowed_origins`, given the list from `parse_origins`): a page on an origin neither
allowed nor the API's own is refused during the handshake. Clients that are not browsers send no
`Origin` and are not affected.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ["GET", "HEAD", "POST", "PUT", "OPTIONS"]
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Content-Range",
    "Range",
    "If-Range",
    "If-None-Match",
    "X-Cart-Token",
    "X-Request-ID",
    "X-Upload-Content-Type",
    "X-Upload-Content-Length",
    "X-Goog-Hash",
]
EXPOSED_HEADERS = [
    "X-Request-ID",
    "ETag",
    "Range",
    "Content-Range",
    "Content-Length",
    "Accept-Ranges",
    "Content-Disposition",
    "Location",
    "Retry-After",
]


def parse_origins(value: str) -> list[str]:
    """`https://shop.example, https://admin.example` -> a list; `*` allows any origin."""
    return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]


def add_cors(app: Starlette, origins: list[str], max_age: int) -> None:
    """CORS for HTTP, outside every other middleware."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,  # tokens travel in headers, never in cookies
        max_age=max_age,
    )
