"""`GET /files/{key}` for local storage: what GCS does for its V4 signed URLs, done by the app."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from audiocity.storage.base import ObjectNotFound
from audiocity.storage.local import LocalStorage, iter_file
from audiocity.storage.signing import DownloadGrant, content_disposition, is_expired, verify

# (request, key, signed user id) -> may this still be served? Checked on every request, after the signature.
Authorize = Callable[[Request, str, str | None], Awaitable[bool]]
# (request, grant, first byte, last byte inclusive) -> None: told about each GET about to be served (the audit).
OnServed = Callable[[Request, DownloadGrant, int, int], Awaitable[None]]

_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)", re.ASCII | re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """The Range header is well formed but asks for bytes the object does not have."""


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One byte range as inclusive (start, end), or None to send the whole object.

    Only a single range is supported; a malformed or multi-range header is ignored, as RFC 9110 allows.
    """
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def file_routes(
    storage: LocalStorage, authorize: Authorize | None = None, on_served: OnServed | None = None
) -> list[Route]:
    """`GET`/`HEAD /files/{key}` for links made by `LocalStorage.signed_download_url`.

    `authorize(request, key, user_id)` lets the app refuse a still-valid link, e.g. after a refund;
    `on_served(request, grant, start, end)` records each GET that is about to be served.
    """

    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        grant = verify(storage.secret, key, request.query_params)
        if grant is None:
            reason = "Link expired." if is_expired(request.query_params) else "Invalid signature."
            return PlainTextResponse(reason, status_code=403)
        if authorize is not None and not await authorize(request, key, grant.user_id):
            return PlainTextResponse("Not allowed.", status_code=403)
        try:
            file, info = await storage.open(key)
        except (ObjectNotFound, ValueError):
            return PlainTextResponse("Not found.", status_code=404)

        size = info.st_size
        etag = f'"{size:x}-{info.st_mtime_ns:x}"'
        last_modified = formatdate(info.st_mtime, usegmt=True)
        headers = {
            "content-type": grant.content_type,
            "content-disposition": content_disposition(grant.filename),
            "accept-ranges": "bytes",
            "etag": etag,
            "last-modified": last_modified,
            "cache-control": "private",
            "x-content-type-options": "nosniff",
        }
        status_code = 200
        start, end = 0, size - 1
        range_header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if range_header and (if_range is None or if_range in (etag, last_modified)):
            try:
                byte_range = parse_range(range_header, size)
            except RangeNotSatisfiable:
                file.close()
                return PlainTextResponse(
                    "Range not satisfiable.", status_code=416, headers={"content-range": f"bytes */{size}"}
                )
            if byte_range is not None:
                start, end = byte_range
                status_code = 206
                headers["content-range"] = f"bytes {start}-{end}/{size}"
        headers["content-length"] = str(end - start + 1)

        if request.method == "HEAD":
            file.close()
            return Response(status_code=status_code, headers=headers)
        if on_served is not None:
            try:
                await on_served(request, grant, start, end)
            except BaseException:
                file.close()
                raise
        return StreamingResponse(iter_file(file, start, end), status_code=status_code, headers=headers)

    return [Route("/files/{key:path}", download, methods=["GET", "HEAD"], name="storage_file")]
