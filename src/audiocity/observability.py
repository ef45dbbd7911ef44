"""Request ids, HTTP metrics and open WebSockets, as one small ASGI middleware."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audiocity import logs
from audiocity.metrics import HTTP_LATENCY, HTTP_REQUESTS, WEBSOCKETS

KNOWN_PATHS = ("/graphql", "/healthz", "/readyz", "/metrics", "/files", "/uploads", "/webhooks", "/bundles")
REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _path_label(path: str) -> str:
    """Bounded label values: unknown paths (and signed file keys) collapse to a prefix."""
    for known in KNOWN_PATHS:
        if path == known or path.startswith(known + "/"):
            return known
    return "other"


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-Id when it is a plain token (a load balancer's), else a new one."""
    for name, value in scope.get("headers") or []:
        if name == b"x-request-id":
            incoming = str(value.decode("latin-1"))
            if _SAFE_ID.match(incoming):
                return incoming
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        with logs.bound(request_id=request_id, user_id=None, operation=None):
            if scope["type"] == "websocket":
                WEBSOCKETS.inc()
                try:
                    await self.app(scope, receive, send)
                finally:
                    WEBSOCKETS.dec()
                return
            await self._http(scope, receive, send, request_id)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            label = _path_label(scope["path"])
            HTTP_REQUESTS.labels(scope["method"], label, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], label).observe(time.perf_counter() - start)
