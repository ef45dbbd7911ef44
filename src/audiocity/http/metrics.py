"""`GET /metrics`: the Prometheus exposition (every process's samples in multiprocess mode)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audiocity.metrics import render


async def metrics(request: Request) -> Response:
    return Response(render(), media_type=CONTENT_TYPE_LATEST)


def metrics_routes() -> list[Route]:
    return [Route("/metrics", metrics)]
