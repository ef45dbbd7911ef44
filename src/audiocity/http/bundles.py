"""Downloads through the app: entitlement checks and the audit for signed file links (hooks for
`http.files`), and the ZIP bundle route (served by the app on every storage backend, since GCS
cannot zip).

A signature only proves the app minted the link; entitlement is checked again on every use, so a
refunded book's links stop working before they expire.
"""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from audiocity.db import session_scope
from audiocity.http.container import resources
from audiocity.models import DownloadKind
from audiocity.services import bundles, download_names, downloads, storage_keys
from audiocity.storage.signing import DownloadGrant, content_disposition, is_expired

log = logging.getLogger(__name__)


async def authorize(request: Request, key: str, user_id: str | None) -> bool:
    """Admins may fetch anything; others only objects of books they are entitled to now."""
    async with resources(request).sessions() as s:
        return await downloads.authorize_key(s, key, user_id)


async def record(request: Request, grant: DownloadGrant, start: int, end: int) -> None:
    """The audit of one file download about to be served."""
    async with session_scope(resources(request).sessions) as s:
        await downloads.record_key_download(s, key=grant.key, user_id=grant.user_id, range_start=start, range_end=end)


async def bundle(request: Request) -> Response:
    """`GET`/`HEAD /bundles/{audiobook_id}`: the whole book as one streamed, STORED ZIP."""
    res = resources(request)
    raw_id = request.path_params["audiobook_id"]
    grant = bundles.verify(res.secret, raw_id, request.query_params)
    if grant is None:
        reason = "Link expired." if is_expired(request.query_params) else "Invalid signature."
        return PlainTextResponse(reason, status_code=403)
    try:
        book_id = uuid.UUID(raw_id)
        user_id = uuid.UUID(grant.user_id or "")
    except ValueError:
        return PlainTextResponse("Not allowed.", status_code=403)
    async with res.sessions() as s:
        if not await downloads.may_download(s, user_id, book_id):
            return PlainTextResponse("Not allowed.", status_code=403)
        contents = await downloads.bundle_contents(s, book_id)
    if contents is None:
        return PlainTextResponse("Not found.", status_code=404)
    sizes: dict[str, int] = {}
    if contents.transcripts:
        for _, fmt, _ in download_names.TRANSCRIPT_FORMATS:
            info = await res.storage.stat(storage_keys.transcript_key(book_id, fmt))
            if info is not None:
                sizes[fmt] = info.size
    members = bundles.members_for(contents.audiobook, contents.files, sizes)
    if not members:
        return PlainTextResponse("Nothing to download yet.", status_code=404)
    headers = {
        "content-type": bundles.CONTENT_TYPE,
        "content-disposition": content_disposition(grant.filename),
        "cache-control": "private, no-store",
        "x-content-type-options": "nosniff",
    }
    if request.method == "HEAD":
        headers["content-length"] = str(bundles.zip_size(members))
        return Response(headers=headers)
    length, body = bundles.stream_zip(res.storage, members)
    headers["content-length"] = str(length)
    async with session_scope(res.sessions) as s:
        await downloads.record_download(
            s, user_id=user_id, audiobook_id=book_id, kind=DownloadKind.BUNDLE, range_start=0, range_end=length - 1
        )
    log.info("bundle of %s (%d files, %d bytes) for user %s", book_id, len(members), length, user_id)
    return StreamingResponse(body, headers=headers)


def bundle_routes() -> list[Route]:
    return [Route("/bundles/{audiobook_id}", bundle, methods=["GET", "HEAD"], name="bundle")]
