"""The storage contract: object keys in, bytes and signed URLs out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class ObjectNotFound(Exception):
    """The key names no stored object."""


class LinkUnavailable(Exception):
    """A download link could not be made; `code` says whether retrying can help.

    `SIGNING_UNAVAILABLE`: nothing configured can sign (no key, no signer identity); `SIGNING_FAILED`:
    the signer was asked and failed (IAM refused or was unreachable). The message is for logs.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None = None
    md5_hex: str | None = None
    crc32c: int | None = None


@dataclass(frozen=True)
class SignedURL:
    url: str
    expires_at: datetime


# GCS only accepts resumable chunks that are whole multiples of this (except the last); local storage too.
RESUMABLE_CHUNK_QUANTUM = 256 * 1024


@dataclass(frozen=True)
class UploadTarget:
    """Where a client sends an object's bytes with the GCS resumable protocol, whichever the backend.

    Chunks go as `method` requests to `url` with `headers` plus `Content-Range: bytes a-b/N`; a `308`
    with `Range: bytes=0-x` means "continue at x+1"; `Content-Range: bytes */N` asks how far it got.
    """

    url: str
    method: str
    expires_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)


class Storage(Protocol):
    """One implementation per backend (local folder, GCS), chosen once from settings."""

    async def write(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None) -> ObjectInfo:
        """Stream `chunks` into a new object at `key`, never holding the whole object in memory."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes `start`..`end` (inclusive, like HTTP ranges) of the object."""
        ...

    async def stat(self, key: str) -> ObjectInfo | None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    async def download_to(self, key: str, path: Path) -> None:
        """Copy the object into a local file (workers need a real path for PyAV)."""
        ...

    def signed_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str,
        content_type: str,
        user_id: str | None = None,
    ) -> SignedURL:
        """A time-limited URL that names the file for the browser (Content-Disposition)."""
        ...

    async def create_upload_session(
        self, key: str, *, content_type: str, size: int, expires_in: int, origin: str | None = None
    ) -> UploadTarget:
        """Open a resumable upload of exactly `size` bytes to `key`; the object appears when the last byte is in.

        `origin` is the browser origin allowed to send the chunks (CORS), where the backend needs it.
        """
        ...

    async def abort_upload(self, key: str, url: str) -> None:
        """Cancel the session at `url` (best effort) and delete whatever it stored, finished or not."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file when the backend is a local folder, so it can be probed in place; else None."""
        ...


async def write_bytes(storage: Storage, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
    """Store a small object already held in memory (a transcript, a WebVTT file)."""

    async def once() -> AsyncIterator[bytes]:
        yield data

    return await storage.write(key, once(), content_type)


MAX_KEY_BYTES = 1024  # the GCS limit, so a key valid on local storage is valid on GCS too


def validate_key(key: str) -> str:
    """Reject keys that could escape the root or that GCS would refuse; return the key unchanged."""
    if not key or len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"Invalid storage key length: {key!r}")
    if key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ValueError(f"Invalid storage key: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"Invalid storage key: {key!r}")
    return key


def check_content_type(content_type: str) -> str:
    """A content type goes into a response header, so it must be plain printable ASCII."""
    if not content_type or not all(32 <= ord(c) < 127 for c in content_type):
        raise ValueError(f"Invalid content type: {content_type!r}")
    return content_type
