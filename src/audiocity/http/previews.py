"""`GET`/`HEAD /previews/{audiobook_id}`: a published book's sample clip, to anyone, cacheable.

No signature and no account: previews are public. The book must be published at the time of the
request, so a draft's clip is never served here (admins fetch drafts' clips through signed links).
The URL the API hands out carries the clip's version (`?v=`), so caches may keep an answer a while.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from audiocity.http.container import resources
from audiocity.services import previews
from audiocity.storage.base import ObjectNotFound

CACHE_SECONDS = 300  # how long an unpublished book's clip may still be served from a cache


async def preview(request: Request) -> Response:
    res = resources(request)
    try:
        book_id = uuid.UUID(request.path_params["audiobook_id"])
    except ValueError:
        return PlainTextResponse("Not found.", status_code=404)
    async with res.sessions() as s:
        row = await previews.public_preview(s, book_id)
    if row is None or row.storage_key is None:
        return PlainTextResponse("Not found.", status_code=404, headers={"cache-control": "no-store"})
    etag = f'"{row.storage_key.rsplit("/", 1)[-1]}"'
    headers = {
        "content-type": row.content_type,
        "cache-control": f"public, max-age={CACHE_SECONDS}",
        "etag": etag,
        "x-content-type-options": "nosniff",
        "access-control-allow-origin": "*",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    info = await res.storage.stat(row.storage_key)
    if info is None:
        return PlainTextResponse("Not found.", status_code=404, headers={"cache-control": "no-store"})
    headers["content-length"] = str(info.size)
    if request.method == "HEAD":
        return Response(headers=headers)
    body = res.storage.read(row.storage_key)
    try:
        first = await anext(body, b"")
    except ObjectNotFound:
        return PlainTextResponse("Not found.", status_code=404, headers={"cache-control": "no-store"})

    async def stream() -> AsyncIterator[bytes]:
        yield first
        async for block in body:
            yield block

    return StreamingResponse(stream(), headers=headers)


def preview_routes() -> list[Route]:
    return [Route("/previews/{audiobook_id}", preview, methods=["GET", "HEAD"], name="preview")]
