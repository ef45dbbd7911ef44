"""The resumable upload route for local storage: what a GCS resumable session URL does, done by the app.

It speaks the same protocol, so one client works against both backends:

- `PUT` (or `POST`) a chunk with `Content-Range: bytes a-b/N` (or `bytes a-b/*`); every chunk but the
  last must be a whole multiple of 256 KiB. The reply is `308` with `Range: bytes=0-x` while bytes are
  missing and `200` with the object's metadata (JSON, like a GCS object resource) after the last one.
- `PUT` with an empty body and `Content-Range: bytes */N` (or `bytes */*`) asks how far the upload got,
  e.g. after a dropped connection; a `308` without `Range` means nothing is stored yet.
- A `PUT` without `Content-Range` sends the whole object at once.

The signed URL fixes the key, size, content type and expiry; the database says whether the upload is
still open (not completed, cancelled, failed or expired), which the signature alone cannot. Bytes are
streamed to disk as they arrive; a chunk is kept whole or not at all.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from audiocity.http.container import resources
from audiocity.services.uploads import upload_is_open
from audiocity.storage.base import RESUMABLE_CHUNK_QUANTUM, ObjectInfo, Storage
from audiocity.storage.local import ChunkRejected, LocalStorage, ResumableState, UploadBusy
from audiocity.storage.signing import UploadGrant, verify_upload

# Whether the upload writing to `key` is still open: True, False (closed) or None (no such upload).
IsOpen = Callable[[Request, str], Awaitable[bool | None]]

_CHUNK = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.ASCII | re.IGNORECASE)
_STATUS = re.compile(r"bytes\s+\*/(\d+|\*)", re.ASCII | re.IGNORECASE)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Errors shaped like the GCS JSON API's, so clients that read `error.message` show ours."""
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status, headers=headers)


def _range_headers(offset: int) -> dict[str, str]:
    return {"range": f"bytes=0-{offset - 1}"} if offset > 0 else {}


def _incomplete(offset: int) -> Response:
    return Response(status_code=308, headers=_range_headers(offset))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def object_resource(info: ObjectInfo, content_type: str) -> dict[str, Any]:
    """The fields of a GCS object resource a resumable client reads after the last chunk."""
    resource: dict[str, Any] = {
        "kind": "storage#object",
        "name": info.key,
        "bucket": "local",
        "size": str(info.size),
        "contentType": info.content_type or content_type,
    }
    if info.md5_hex is not None:
        resource["md5Hash"] = _b64(bytes.fromhex(info.md5_hex))
    if info.crc32c is not None:
        resource["crc32c"] = _b64(info.crc32c.to_bytes(4, "big"))
    return resource


def _finished(state: ResumableState, grant: UploadGrant) -> Response:
    assert state.info is not None
    return JSONResponse(object_resource(state.info, grant.content_type), status_code=200)


async def database_is_open(request: Request, key: str) -> bool | None:
    """Ask the database, through the application container."""
    async with resources(request).sessions() as session:
        return await upload_is_open(session, key, now=datetime.now(UTC))


def upload_routes(storage: Storage, is_open: IsOpen = database_is_open) -> list[Route]:
    """`PUT`/`POST /uploads/{key}` for URLs made by `LocalStorage.create_upload_session`; none on other backends."""
    if not isinstance(storage, LocalStorage):
        return []
    local = storage

    async def upload(request: Request) -> Response:
        key = request.path_params["key"]
        grant = verify_upload(local.secret, key, request.query_params)
        if grant is None:
            return _error(403, "This upload URL is invalid or has expired; start a new upload.")
        state = await is_open(request, key)
        if state is None:
            return _error(404, "No such upload.")
        if not state:
            # Closed, but a client that lost the reply to its last chunk may still ask: tell it the truth.
            info = await local.stat(key)
            if info is not None and info.size == grant.size:
                return JSONResponse(object_resource(info, grant.content_type), status_code=200)
            return _error(410, "This upload is closed (completed, cancelled, failed or expired); start a new one.")

        content_range = request.headers.get("content-range", "").strip()
        declared_length = request.headers.get("content-length")
        if declared_length is not None and not declared_length.isdigit():
            return _error(400, "Malformed Content-Length.")
        try:
            chunk = _CHUNK.fullmatch(content_range)
            if not content_range or chunk is not None:
                return await _chunk(request, grant, chunk, None if declared_length is None else int(declared_length))
            status = _STATUS.fullmatch(content_range)
            if status is None:
                return _error(400, f"Malformed Content-Range {content_range!r}; expected 'bytes a-b/N' or 'bytes */N'.")
            total = status.group(1)
            if total != "*" and int(total) != grant.size:
                return _error(400, f"This upload was started for {grant.size} bytes, not {total}.")
            return _reply(await local.resumable_status(key, size=grant.size, content_type=grant.content_type), grant)
        except UploadBusy:
            return _error(409, "Another request is writing to this upload; wait for it, then ask for the status.")
        except ChunkRejected as exc:
            return _error(400, str(exc), _range_headers(exc.offset))
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is listening; the chunk was dropped whole

    async def _chunk(
        request: Request, grant: UploadGrant, match: re.Match[str] | None, declared_length: int | None
    ) -> Response:
        if match is None:  # the whole object in one request
            if declared_length is None:
                return _error(411, "Send Content-Length, or Content-Range with each chunk.")
            start, length, total = 0, declared_length, str(declared_length)
        else:
            start, end, total = int(match.group(1)), int(match.group(2)), match.group(3)
            if end < start:
                return _error(400, f"Malformed Content-Range {match.group(0)!r}: the range is empty.")
            length = end - start + 1
        if total != "*" and int(total) != grant.size:
            return _error(400, f"This upload was started for {grant.size} bytes; the chunk says {total}.")
        if declared_length is not None and declared_length != length:
            return _error(400, f"Content-Length is {declared_length} but Content-Range names {length} bytes.")
        if start + length > grant.size:
            return _error(400, f"Bytes {start}-{start + length - 1} go past the end of this {grant.size}-byte upload.")
        if start + length < grant.size and length % RESUMABLE_CHUNK_QUANTUM:
            return _error(
                400,
                f"Every chunk but the last must be a multiple of {RESUMABLE_CHUNK_QUANTUM} bytes; "
                f"this one has {length}.",
            )
        state = await local.write_chunk(
            grant.key,
            size=grant.size,
            start=start,
            length=length,
            body=request.stream(),
            content_type=grant.content_type,
        )
        return _reply(state, grant)

    def _reply(state: ResumableState, grant: UploadGrant) -> Response:
        return _finished(state, grant) if state.info is not None else _incomplete(state.offset)

    return [Route("/uploads/{key:path}", upload, methods=["PUT", "POST"], name="storage_upload")]
