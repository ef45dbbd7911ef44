"""The admins' live jobs page at /admin/jobs: static HTML, CSS and JavaScript over the public GraphQL API.

No build step and no third-party code: the page signs in with `login`, lists `jobs`, follows each
unfinished job with the `jobUpdates` subscription (graphql-transport-ws) and resumes failed ones with
`startTranscription`. Everything it needs is served from this origin, under a strict CSP.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parents[1] / "static" / "admin"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)


async def jobs_page(request: Request) -> Response:
    return FileResponse(
        STATIC / "jobs.html",
        media_type="text/html",
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def admin_routes() -> list[BaseRoute]:
    return [
        Route("/admin/jobs", jobs_page, methods=["GET", "HEAD"]),
        Mount("/admin/assets", app=StaticFiles(directory=STATIC), name="admin-assets"),
    ]
