"""The storage contract: object keys in, bytes and signed URLs out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class ObjectNotFound(Exception):
    """The key names no stored object."""


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
