"""Storage in a local folder: the embedded default, with downloads served by the app (see `routes`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat as stat_module
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar
from urllib.parse import quote, urlencode

import google_crc32c

from audiocity.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    SignedURL,
    UploadTarget,
    check_content_type,
    validate_key,
)
from audiocity.storage.signing import DownloadGrant, UploadGrant, query_params, upload_query_params

if TYPE_CHECKING:
    from _hashlib import HASH

T = TypeVar("T")
BLOCK_SIZE = 64 * 1024
WRITE_BUFFER = 1024 * 1024  # resumable chunks reach the disk in pieces of at most this much


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


def _unlink(path: Path, root: Path) -> None:
    """Remove the file, then its folders up to `root` as they become empty: deleting leaves no trace."""
    with contextlib.suppress(NotADirectoryError, IsADirectoryError):
        path.unlink(missing_ok=True)
    folder = path.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or already gone): stop
            break
        folder = folder.parent


def _in_folder(path: Path, make: Callable[[], T]) -> T:
    """Create `path`'s folder and run `make`; again if a concurrent delete pruned the folder in between."""
    for _ in range(5):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return make()
        except FileNotFoundError:
            continue
    return make()


class ChunkRejected(Exception):
    """A resumable chunk the session cannot take; nothing of it was kept. `offset` is what the session holds."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class UploadBusy(Exception):
    """Another request is writing to the same resumable upload right now."""


@dataclass(frozen=True)
class ResumableState:
    """How far a resumable upload got: `offset` bytes are safely on disk; `info` once the object exists."""

    offset: int
    info: ObjectInfo | None = None


class _Partial:
    """The locked, partly written file of one resumable upload (blocking calls: run them in a thread)."""

    def __init__(self, fd: int, path: Path, partial: Path) -> None:
        self.fd = fd
        self.path = path
        self.partial = partial

    @classmethod
    def open(cls, path: Path, partial: Path) -> _Partial | None:
        """Lock the partial file, creating it; None when the object is already complete."""
        if path.is_file():
            return None
        fd = _in_folder(partial, lambda: os.open(partial, os.O_RDWR | os.O_CREAT, 0o600))
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise UploadBusy(str(partial)) from None
                raise
            try:
                same = os.stat(partial).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # a finishing request renamed it away between our open and our lock
                raise UploadBusy(str(partial))
            if path.is_file():  # finished meanwhile: drop the empty file we just made
                if os.fstat(fd).st_size == 0:
                    partial.unlink(missing_ok=True)
                os.close(fd)
                return None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return cls(fd, path, partial)

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def write(self, data: bytes | bytearray, offset: int) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def sync(self) -> None:
        os.fsync(self.fd)

    def finish(self, key: str, content_type: str | None) -> ObjectInfo:
        """Checksum the whole file, then move it to the object's path: the object appears complete or not at all."""
        md5 = hashlib.md5(usedforsecurity=False)
        crc = 0
        size = 0
        offset = 0
        while block := os.pread(self.fd, 1024 * 1024, offset):
            md5.update(block)
            crc = google_crc32c.extend(crc, block)
            size += len(block)
            offset += len(block)
        os.fsync(self.fd)
        os.replace(self.partial, self.path)
        return ObjectInfo(key=key, size=size, content_type=content_type, md5_hex=md5.hexdigest(), crc32c=int(crc))

    def close(self) -> None:
        os.close(self.fd)  # also releases the lock


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
        fd, temp_name = await asyncio.to_thread(
            _in_folder, path, lambda: tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
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
        await asyncio.to_thread(_unlink, self.path(key), self.root)

    async def download_to(self, key: str, path: Path) -> None:
        await asyncio.to_thread(_copy, key, self.path(key), Path(path))

    def local_path(self, key: str) -> Path:
        return self.path(key)

    def partial_path(self, key: str) -> Path:
        """Where the bytes of an unfinished resumable upload wait, beside the object-to-be."""
        path = self.path(key)
        return path.with_name(f".{path.name}.resumable")

    async def create_upload_session(
        self, key: str, *, content_type: str, size: int, expires_in: int, origin: str | None = None
    ) -> UploadTarget:
        """A signed URL of the app's upload route (`audiocity.http.uploads`), which speaks GCS's resumable protocol."""
        validate_key(key)
        check_content_type(content_type)
        if size < 0:
            raise ValueError("size must not be negative")
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        expires_at = int(time.time()) + expires_in
        grant = UploadGrant(key=key, size=size, content_type=content_type, expires_at=expires_at)
        query = urlencode(upload_query_params(self.secret, grant), quote_via=quote)
        url = f"{self.base_url}/uploads/{quote(key, safe='/')}?{query}"
        return UploadTarget(url=url, method="PUT", expires_at=datetime.fromtimestamp(expires_at, UTC))

    async def abort_upload(self, key: str, url: str) -> None:
        await asyncio.to_thread(_unlink, self.partial_path(key), self.root)
        await self.delete(key)

    async def _finished(self, key: str, content_type: str | None) -> ResumableState:
        result = await asyncio.to_thread(_checksums, self.path(key))
        if result is None:  # deleted since we looked
            raise ChunkRejected("The upload was cancelled.", 0)
        size, md5_hex, crc32c = result
        return ResumableState(size, ObjectInfo(key, size, content_type, md5_hex, crc32c))

    async def resumable_status(self, key: str, *, size: int, content_type: str | None = None) -> ResumableState:
        """What a `Content-Range: bytes */N` query reports; finishes an upload whose bytes are all in."""
        path, partial = self.path(key), self.partial_path(key)
        handle = await asyncio.to_thread(_Partial.open, path, partial)
        if handle is None:
            return await self._finished(key, content_type)
        try:
            offset = await asyncio.to_thread(lambda: handle.size)
            if offset == size:
                return ResumableState(offset, await asyncio.to_thread(handle.finish, key, content_type))
            return ResumableState(offset)
        finally:
            handle.close()  # synchronous: even a cancelled request must release the lock

    async def write_chunk(
        self,
        key: str,
        *,
        size: int,
        start: int,
        length: int,
        body: AsyncIterator[bytes],
        content_type: str | None = None,
    ) -> ResumableState:
        """Append bytes `start`..`start+length-1` of a `size`-byte upload, streaming `body` to disk.

        All or nothing: a chunk that arrives short, long or cut off leaves the file as it was. A chunk
        that overlaps what is already stored (a resend after a lost reply) only adds its new bytes; one
        that starts past the end is out of order and refused. The upload finishes with its last byte.
        """
        if start < 0 or length < 0 or start + length > size:
            raise ChunkRejected(f"Bytes {start}-{start + length - 1} are outside this {size}-byte upload.", 0)
        path, partial = self.path(key), self.partial_path(key)
        handle = await asyncio.to_thread(_Partial.open, path, partial)
        if handle is None:
            async for _ in body:  # the client resent a chunk of a finished upload
                pass
            return await self._finished(key, content_type)
        try:
            current = await asyncio.to_thread(lambda: handle.size)
            if start > current:
                raise ChunkRejected(
                    f"Chunk out of order: this upload has {current} bytes, so the next chunk must start at "
                    f"byte {current}, not {start}. Ask for the upload's status (Content-Range: bytes */{size}) "
                    "and resume from there.",
                    current,
                )
            try:
                await self._stream_chunk(handle, body, start, length, current)
            except BaseException:
                # Synchronous on purpose: a cancelled task (client gone) may not get to await anything.
                handle.truncate(current)
                raise
            end = max(current, start + length)
            if end == size:
                return ResumableState(end, await asyncio.to_thread(handle.finish, key, content_type))
            await asyncio.to_thread(handle.sync)
            return ResumableState(end)
        finally:
            handle.close()  # synchronous: even a cancelled request must release the lock

    async def _stream_chunk(
        self, handle: _Partial, body: AsyncIterator[bytes], start: int, length: int, current: int
    ) -> None:
        """Write the part of `body` past `current`, checking it carries exactly `length` bytes."""
        received = 0
        position = current
        buffer = bytearray()
        async for piece in body:
            if received + len(piece) > length:
                raise ChunkRejected(f"The chunk carries more than the {length} bytes its Content-Range names.", current)
            skip = max(0, current - (start + received))  # bytes the session already has
            received += len(piece)
            if skip < len(piece):
                buffer += piece[skip:] if skip else piece
            if len(buffer) >= WRITE_BUFFER:
                await asyncio.to_thread(handle.write, bytes(buffer), position)
                position += len(buffer)
                buffer.clear()
        if received != length:
            raise ChunkRejected(f"The chunk carries {received} bytes but its Content-Range names {length}.", current)
        if buffer:
            await asyncio.to_thread(handle.write, bytes(buffer), position)

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
