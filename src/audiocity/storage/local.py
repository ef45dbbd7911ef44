"""Storage in a local folder: the embedded default, with downloads served by the app (see `routes`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import stat as stat_module
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import quote, urlencode

import google_crc32c

from audiocity.storage.base import ObjectInfo, ObjectNotFound, SignedURL
from audiocity.storage.signing import DownloadGrant, query_params

if TYPE_CHECKING:
    from _hashlib import HASH

BLOCK_SIZE = 64 * 1024
MAX_KEY_BYTES = 1024  # the GCS limit, so a key valid here is valid there too


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


async def iter_file(
    file: BinaryIO, start: int = 0, end: int | None = None, block_size: int = BLOCK_SIZE
) -> AsyncIterator[bytes]:
    """Bytes `start`..`end` (inclusive) of an open file in blocks, off the event loop; closes the file."""
    try:
        if start < 0:
            raise ValueError("start must not be negative")
        remaining = None if end is None else end - start + 1
        await asyncio.to_thread(file.seek, start)
        while remaining is None or remaining > 0:
            size = block_size if remaining is None else min(block_size, remaining)
            block = await asyncio.to_thread(file.read, size)
            if not block:
                break
            if remaining is not None:
                remaining -= len(block)
            yield block
    finally:
        file.close()


def _write_block(file: BinaryIO, block: bytes, md5: HASH, crc: int) -> int:
    """Write and hash in the same worker thread; returns the running crc32c."""
    file.write(block)
    md5.update(block)
    return int(google_crc32c.extend(crc, block))


def _sync_and_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _checksums(path: Path) -> tuple[int, str, int] | None:
    """Size, md5 and crc32c of a regular file, or None if there is none: local files keep no metadata."""
    try:
        with path.open("rb") as file:
            if not stat_module.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None
            md5 = hashlib.md5(usedforsecurity=False)
            crc = 0
            size = 0
            while block := file.read(1024 * 1024):
                md5.update(block)
                crc = google_crc32c.extend(crc, block)
                size += len(block)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return size, md5.hexdigest(), int(crc)


def _copy(key: str, source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        if not source.is_file():
            raise ObjectNotFound(key) from None
        raise
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _unlink(path: Path) -> None:
    with contextlib.suppress(NotADirectoryError, IsADirectoryError):
        path.unlink(missing_ok=True)


class LocalStorage:
    """Objects are files under `root`; download links are HMAC-signed URLs under `{base_url}/files/`."""

    def __init__(self, root: Path, secret: str, base_url: str) -> None:
        self.root = Path(root)
        self.secret = secret
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        """Where `key` lives on disk (raises ValueError for keys that are not allowed)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    async def open(self, key: str) -> tuple[BinaryIO, os.stat_result]:
        """An open file and its stat, taken together so size and bytes come from the same version."""
        path = self.path(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None
        info = os.fstat(file.fileno())
        if not stat_module.S_ISREG(info.st_mode):
            file.close()
            raise ObjectNotFound(key)
        return file, info

    async def write(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None) -> ObjectInfo:
        """Stream into a temp file beside the target and rename it, so readers never see half a file."""
        path = self.path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        fd, temp_name = await asyncio.to_thread(
            tempfile.mkstemp, dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
        temp = Path(temp_name)
        md5 = hashlib.md5(usedforsecurity=False)
        crc = 0
        size = 0
        try:
            file = os.fdopen(fd, "wb")
            try:
                async for chunk in chunks:
                    crc = await asyncio.to_thread(_write_block, file, chunk, md5, crc)
                    size += len(chunk)
                await asyncio.to_thread(_sync_and_close, file)
            finally:
                file.close()
            await asyncio.to_thread(os.replace, temp, path)
        except BaseException:
            # Synchronous on purpose: a cancelled task may not get to await anything here.
            temp.unlink(missing_ok=True)  # noqa: ASYNC240
            raise
        return ObjectInfo(
            key=key,
            size=size,
            content_type=content_type,
            md5_hex=md5.hexdigest(),
            crc32c=crc,
        )

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes `start`..`end` (inclusive) in 64 KiB blocks."""
        file, _ = await self.open(key)
        async for block in iter_file(file, start, end):
            yield block

    async def stat(self, key: str) -> ObjectInfo | None:
        """Size and checksums, computed by reading the file: there is nowhere to keep them."""
        result = await asyncio.to_thread(_checksums, self.path(key))
        if result is None:
            return None
        size, md5_hex, crc32c = result
        return ObjectInfo(key=key, size=size, md5_hex=md5_hex, crc32c=crc32c)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(_unlink, self.path(key))

    async def download_to(self, key: str, path: Path) -> None:
        await asyncio.to_thread(_copy, key, self.path(key), Path(path))

    def signed_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str,
        content_type: str,
        user_id: str | None = None,
    ) -> SignedURL:
        """A link to the app's `/files/` route carrying its own signed expiry, user and headers."""
        validate_key(key)
        check_content_type(content_type)
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        expires_at = int(time.time()) + expires_in
        grant = DownloadGrant(
            key=key, expires_at=expires_at, user_id=user_id, filename=filename, content_type=content_type
        )
        query = urlencode(query_params(self.secret, grant), quote_via=quote)
        url = f"{self.base_url}/files/{quote(key, safe='/')}?{query}"
        return SignedURL(url=url, expires_at=datetime.fromtimestamp(expires_at, UTC))
