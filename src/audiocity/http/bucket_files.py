"""`/files/{key}` served by the app from a bucket (`DOWNLOAD_MODE=proxy`), for when links cannot be signed.

The links are the HMAC-signed ones of local storage; every request checks the signature, then the
entitlement, then streams the asked-for range from storage block by block, never the whole object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from audiocity.http.files import Authorize, OnServed, RangeNotSatisfiable, parse_range
from audiocity.storage.base import ObjectNotFound, Storage
from audiocity.storage.signing import content_disposition, is_expired, verify


def bucket_file_routes(storage: Storage, secret: str, authorize: Authorize, on_served: OnServed) -> list[Route]:
    """`GET`/`HEAD /files/{key}`: like local storage's route, reading through the `Storage` contract."""

    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        grant = verify(secret, key, request.query_params)
        if grant is None:
            reason = "Link expired." if is_expired(request.query_params) else "Invalid signature."
            return PlainTextResponse(reason, status_code=403)
        if not await authorize(request, key, grant.user_id):
            return PlainTextResponse("Not allowed.", status_code=403)
        try:
            info = await storage.stat(key)
        except ValueError:
            info = None
        if info is None:
            return PlainTextResponse("Not found.", status_code=404)

        size = info.size
        etag = f'"{info.md5_hex or info.crc32c or size}"'
        headers = {
            "content-type": grant.content_type,
            "content-disposition": content_disposition(grant.filename),
            "accept-ranges": "bytes",
            "etag": etag,
            "cache-control": "private",
            "x-content-type-options": "nosniff",
        }
        status_code = 200
        start, end = 0, size - 1
        range_header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if range_header and (if_range is None or if_range == etag):
            try:
                byte_range = parse_range(range_header, size)
            except RangeNotSatisfiable:
                return PlainTextResponse(
                    "Range not satisfiable.", status_code=416, headers={"content-range": f"bytes */{size}"}
                )
            if byte_range is not None:
                start, end = byte_range
                status_code = 206
                headers["content-range"] = f"bytes {start}-{end}/{size}"
        headers["content-length"] = str(end - start + 1)
        if request.method == "HEAD":
            return Response(status_code=status_code, headers=headers)
        await on_served(request, grant, start, end)
        if size == 0:
            return Response(status_code=status_code, headers=headers)
        body = storage.read(key, start, end)
        try:
            first = await anext(body)  # a vanished object is a 404, not a broken stream
        except StopAsyncIteration:
            first = b""
        except ObjectNotFound:
            return PlainTextResponse("Not found.", status_code=404)

        async def stream() -> AsyncIterator[bytes]:
            yield first
            async for block in body:
                yield block

        return StreamingResponse(stream(), status_code=status_code, headers=headers)

    return [Route("/files/{key:path}", download, methods=["GET", "HEAD"], name="bucket_file")]
