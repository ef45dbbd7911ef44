"""One small client for the GCS resumable protocol, used unchanged against GCS and local storage.

`source(offset, length)` returns the bytes to send, so a test can stream a file of any size without
holding it: only one chunk exists at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

QUANTUM = 256 * 1024
Source = Callable[[int, int], bytes]


@dataclass(frozen=True)
class Progress:
    """`offset` bytes are stored; `resource` is the object's metadata once the upload is complete."""

    offset: int
    resource: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.resource is not None


def bytes_source(data: bytes) -> Source:
    return lambda offset, length: data[offset : offset + length]


def progress(response: httpx.Response) -> Progress:
    if response.status_code in (200, 201):
        resource: dict[str, Any] = response.json()
        return Progress(int(resource["size"]), resource)
    assert response.status_code == 308, (response.status_code, response.text)
    stored = response.headers.get("range")
    return Progress(0 if stored is None else int(stored.rsplit("-", 1)[1]) + 1)


async def status(http: httpx.AsyncClient, url: str, total: int | None, attempts: int = 50) -> Progress:
    """The status query a client sends after a dropped connection.

    The server may still be winding down the request that was cut off (409, local storage): wait and ask again.
    """
    size = "*" if total is None else str(total)
    for _ in range(attempts - 1):
        response = await http.put(url, headers={"Content-Range": f"bytes */{size}"})
        if response.status_code != 409:
            return progress(response)
        await asyncio.sleep(0.1)
    return progress(await http.put(url, headers={"Content-Range": f"bytes */{size}"}))


async def send_chunk(
    http: httpx.AsyncClient, url: str, source: Source, start: int, length: int, total: int
) -> httpx.Response:
    headers = {"Content-Range": f"bytes {start}-{start + length - 1}/{total}"}
    return await http.put(url, content=source(start, length), headers=headers)


async def upload(
    http: httpx.AsyncClient,
    url: str,
    source: Source,
    total: int,
    *,
    chunk_size: int = QUANTUM,
    offset: int = 0,
    stop_at: int | None = None,
    after_chunk: Callable[[Progress], None] | None = None,
) -> Progress:
    """Send chunks from `offset` on, as the server's replies direct, until done (or `stop_at` is reached)."""
    assert chunk_size % QUANTUM == 0
    current = Progress(offset)
    while not current.done and current.offset < total:
        if stop_at is not None and current.offset >= stop_at:
            break
        length = min(chunk_size, total - current.offset)
        current = progress(await send_chunk(http, url, source, current.offset, length, total))
        if after_chunk is not None:
            after_chunk(current)
    return current
