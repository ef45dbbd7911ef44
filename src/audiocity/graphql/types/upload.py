"""Where a client sends the bytes of a direct-to-storage upload."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from audiocity.graphql.relay import to_global_id
from audiocity.models import UploadSession
from audiocity.storage import UploadTarget as StorageTarget


@strawberry.type(
    description=(
        "A resumable upload session, spoken the GCS way on every backend: send the file in chunks as "
        "`method` requests to `url` with `headers` and `Content-Range: bytes a-b/N` (every chunk but the "
        "last a multiple of 262144 bytes). `308` with `Range: bytes=0-x` means continue at x+1; `200`/`201` "
        "means all bytes are in. After a dropped connection, send an empty body with `Content-Range: "
        "bytes */N` to learn how far it got. Then call `completeUpload(uploadId: id)`."
    )
)
class UploadTarget:
    id: strawberry.ID = strawberry.field(description="The upload's ID: pass it to `completeUpload`.")
    url: str = strawberry.field(description="Where to send the bytes (a resumable session URL).")
    method: str = strawberry.field(description="The HTTP method for the chunks, `PUT`.")
    headers: JSON = strawberry.field(description="Extra request headers, as an object of names to values.")
    expires_at: datetime = strawberry.field(description="Finish the upload before then.")
    size_bytes: float = strawberry.field(description="The exact number of bytes to send.")
    chunk_size: int = strawberry.field(description="A good chunk size: a multiple of 262144 bytes.")

    @classmethod
    def build(cls, upload: UploadSession, target: StorageTarget, chunk_size: int) -> UploadTarget:
        return cls(
            id=to_global_id("Upload", upload.id),
            url=target.url,
            method=target.method,
            headers=cast(JSON, dict(target.headers)),
            expires_at=target.expires_at,
            size_bytes=float(upload.size_bytes),
            chunk_size=chunk_size,
        )
