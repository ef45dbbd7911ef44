"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: PostgreSQL and Redis answer)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from audiocity.http.container import NotReady, resources

CHECK_TIMEOUT_SECONDS = 3


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    try:
        res = resources(request)
    except NotReady:
        return JSONResponse({"status": "starting"}, status_code=503)
    checks: dict[str, str] = {}
    try:
        async with res.sessions() as s:
            await asyncio.wait_for(s.execute(text("SELECT 1")), CHECK_TIMEOUT_SECONDS)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(res.bus.client.ping(), CHECK_TIMEOUT_SECONDS)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)


def health_routes() -> list[Route]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
