"""GraphiQL without a CDN: Strawberry's page, pointed at pinned copies of its assets served by the app.

The assets under static/graphiql/ are the exact npm files the page names (each still checked by the
browser against the page's `integrity` hash); scripts/vendor_graphiql.py refreshes them. The page is
sent with a Content-Security-Policy that allows scripts from this origin plus the page's own inline
script (by hash), so it also works where a strict policy forbids third-party code.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).parents[1] / "static" / "graphiql"
ASSETS_PATH = "/graphiql/assets"
_CDN = re.compile(r"https://unpkg\.com/")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=4)
def localize(html: str) -> tuple[str, str]:
    """The page with every CDN URL replaced by the app's copy, and the CSP that fits it."""
    page = _CDN.sub(ASSETS_PATH + "/", html)
    scripts = " ".join(_sha256(s) for s in _INLINE_SCRIPT.findall(page))
    csp = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {scripts}",
            # GraphiQL's editor injects <style> elements at run time.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'self'",
        ]
    )
    return page, csp


def page(html: str) -> HTMLResponse:
    body, csp = localize(html)
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})


def asset_routes() -> list[Mount]:
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")]
