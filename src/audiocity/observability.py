"""Request ids and Prometheus metrics, as one small ASGI middleware."""

from __future__ import annotations

import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
