"""`GET /metrics`: the Prometheus exposition (every process's samples in multiprocess mode).

Behind `METRICS_TOKEN` when one is set; in production, hidden (404) without one.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audiocity.config import Settings
from audiocity.metrics import render


async def metrics(request: Request) -> Response:
    return Response(render(), media_type=CONTENT_TYPE_LATEST)


def metrics_routes(settings: Settings) -> list[Route]:
    token = settings.metrics_token

    async def protected(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        elif settings.production:
            return Response("Not Found", status_code=404)
        return await metrics(request)

    return [Route("/metrics", protected)]
