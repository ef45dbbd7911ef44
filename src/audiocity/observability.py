"""Request ids and Prometheus metrics, as one small ASGI middleware."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audiocity.config import Settings

REGISTRY = CollectorRegistry()
REQUESTS = Counter("audiocity_http_requests_total", "HTTP requests", ["method", "path", "status"], registry=REGISTRY)
LATENCY = Histogram("audiocity_http_request_seconds", "HTTP request latency", ["method", "path"], registry=REGISTRY)
KNOWN_PATHS = ("/graphql", "/healthz", "/readyz", "/metrics", "/files", "/uploads", "/webhooks")


def _path_label(path: str) -> str:
    """Bounded label values: unknown paths (and signed file keys) collapse to a prefix."""
    for known in KNOWN_PATHS:
        if path == known or path.startswith(known + "/"):
            return known
    return "other"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            label = _path_label(scope["path"])
            REQUESTS.labels(scope["method"], label, str(status)).inc()
            LATENCY.labels(scope["method"], label).observe(time.perf_counter() - start)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def protected_metrics(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics` behind `METRICS_TOKEN` when one is set; in production, hidden (404) without one."""
    token = settings.metrics_token

    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        elif settings.production:
            return Response("Not Found", status_code=404)
        return await metrics(request)

    return endpoint
