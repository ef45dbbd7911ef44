"""LocalStorage resumable sessions and the app route that speaks the GCS resumable protocol for them.

The route runs in a real Starlette app (over httpx's ASGI transport); whether an upload is still
open comes from a stub here, from the database in the app (tests/uploads covers that over real HTTP).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import google_crc32c
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from audiocity.http.uploads import upload_routes
from audiocity.storage.local import ChunkRejected, LocalStorage, UploadBusy, _Partial
from tests.uploads import resumable

Q = resumable.QUANTUM
DATA = os.urandom(5 * Q + 12_345)
KEY = "audiobooks/b/files/f.mp3"


class OpenState:
    """What the database would say about the upload: open, closed, or unknown (None)."""

    def __init__(self) -> None:
        self.value: bool | None = True

    async def __call__(self, request: Request, key: str) -> bool | None:
        return self.value


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", "test-secret-" + "x" * 32, "http://testserver")


@pytest.fixture
def state() -> OpenState:
    return OpenState()


@pytest.fixture
async def http(storage: LocalStorage, state: OpenState) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=upload_routes(storage, is_open=state))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def session_url(storage: LocalStorage, size: int = len(DATA), expires_in: int = 600) -> str:
    target = await storage.create_upload_session(KEY, content_type="audio/mpeg", size=size, expires_in=expires_in)
    assert target.method == "PUT" and dict(target.headers) == {}
    return target.url


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def files_under(storage: LocalStorage) -> list[str]:
    return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())


async def test_chunks_status_and_completion(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    assert url.startswith(f"http://testserver/uploads/{KEY}?")
    source = resumable.bytes_source(DATA)

    assert await resumable.status(http, url, len(DATA)) == resumable.Progress(0)  # 308 without Range
    first = await resumable.send_chunk(http, url, source, 0, 2 * Q, len(DATA))
    assert (first.status_code, first.headers["range"]) == (308, f"bytes=0-{2 * Q - 1}")
    assert await resumable.status(http, url, None) == resumable.Progress(2 * Q)  # `bytes */*` works too
    assert storage.partial_path(KEY).stat().st_size == 2 * Q
    assert await storage.stat(KEY) is None, "no object until the last byte is in"

    done = await resumable.upload(http, url, source, len(DATA), chunk_size=2 * Q, offset=2 * Q)
    assert done.resource == {
        "kind": "storage#object",
        "name": KEY,
        "bucket": "local",
        "size": str(len(DATA)),
        "contentType": "audio/mpeg",
        "md5Hash": b64(hashlib.md5(DATA).digest()),
        "crc32c": b64(google_crc32c.value(DATA).to_bytes(4, "big")),
    }
    assert storage.path(KEY).read_bytes() == DATA
    assert files_under(storage) == [KEY], "the partial file became the object"
    assert storage.local_path(KEY) == storage.path(KEY)

    # a client that lost the last reply may ask again or resend: it is told the upload is complete
    assert (await resumable.status(http, url, len(DATA))).resource == done.resource
    again = await resumable.send_chunk(http, url, source, 4 * Q, len(DATA) - 4 * Q, len(DATA))
    assert resumable.progress(again).resource == done.resource
    assert files_under(storage) == [KEY]


async def test_whole_object_in_one_request(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    response = await http.put(url, content=DATA)
    assert response.status_code == 200
    assert response.json()["size"] == str(len(DATA))
    assert storage.path(KEY).read_bytes() == DATA


async def test_a_resent_chunk_only_adds_its_new_bytes(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    source = resumable.bytes_source(DATA)
    await resumable.send_chunk(http, url, source, 0, 2 * Q, len(DATA))
    duplicate = await resumable.send_chunk(http, url, source, 0, Q, len(DATA))  # a retry of old bytes
    assert resumable.progress(duplicate) == resumable.Progress(2 * Q)
    overlapping = await resumable.send_chunk(http, url, source, Q, 3 * Q, len(DATA))
    assert resumable.progress(overlapping) == resumable.Progress(4 * Q)
    done = await resumable.upload(http, url, source, len(DATA), offset=4 * Q)
    assert done.done
    assert storage.path(KEY).read_bytes() == DATA


async def test_out_of_order_chunk_is_refused(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    source = resumable.bytes_source(DATA)
    await resumable.send_chunk(http, url, source, 0, Q, len(DATA))

    skipped = await resumable.send_chunk(http, url, source, 2 * Q, Q, len(DATA))
    assert skipped.status_code == 400
    assert skipped.headers["range"] == f"bytes=0-{Q - 1}"
    message = skipped.json()["error"]["message"]
    assert "out of order" in message and f"must start at byte {Q}" in message
    assert storage.partial_path(KEY).read_bytes() == DATA[:Q], "nothing of the refused chunk was kept"

    assert await resumable.status(http, url, len(DATA)) == resumable.Progress(Q)
    assert (await resumable.upload(http, url, source, len(DATA), offset=Q)).done
    assert storage.path(KEY).read_bytes() == DATA


@pytest.mark.parametrize(
    ("content_range", "body_length", "message"),
    [
        (f"bytes 0-{Q - 1}/{len(DATA) + 1}", Q, "started for"),  # a different total size
        (f"bytes 0-{len(DATA)}/*", len(DATA) + 1, "past the end"),  # more than was declared
        ("bytes 0-999/*", 1000, "multiple of 262144"),  # a small chunk that is not the last
        ("bytes 10-5/*", 0, "range is empty"),
        ("bytes=0-10", 11, "Malformed Content-Range"),
        (f"bytes */{len(DATA) - 1}", 0, "started for"),
    ],
)
async def test_bad_chunks_are_refused(
    storage: LocalStorage, http: httpx.AsyncClient, content_range: str, body_length: int, message: str
) -> None:
    url = await session_url(storage)
    body = (DATA + b"x")[:body_length]
    response = await http.put(url, content=body, headers={"Content-Range": content_range})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert await storage.stat(KEY) is None
    assert await resumable.status(http, url, len(DATA)) == resumable.Progress(0)


def tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_the_url_is_signed(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    for bad in (tamper(url, size=str(len(DATA) + Q)), tamper(url, exp=str(int(time.time()) + 10**6))):
        response = await http.put(bad, content=DATA[:Q], headers={"Content-Range": f"bytes 0-{Q - 1}/*"})
        assert response.status_code == 403
    other_key = url.replace("/files/f.mp3", "/files/g.mp3")
    assert (await http.put(other_key, content=DATA)).status_code == 403
    expired = tamper(await session_url(storage, expires_in=1), exp=str(int(time.time()) - 1))
    assert (await http.put(expired, content=DATA)).status_code == 403
    assert files_under(storage) == []


async def test_closed_and_unknown_uploads(storage: LocalStorage, http: httpx.AsyncClient, state: OpenState) -> None:
    url = await session_url(storage)
    state.value = None
    assert (await http.put(url, content=DATA)).status_code == 404
    state.value = False
    closed = await http.put(url, content=DATA)
    assert closed.status_code == 410 and "closed" in closed.json()["error"]["message"]
    assert files_under(storage) == []

    state.value = True
    assert (await http.put(url, content=DATA)).status_code == 200
    state.value = False  # completed: a client asking again still learns its upload is there
    assert (await resumable.status(http, url, len(DATA))).done


async def test_a_cut_off_chunk_is_dropped_whole(storage: LocalStorage) -> None:
    await storage.write_chunk(KEY, size=len(DATA), start=0, length=Q, body=one(DATA[:Q]))

    async def cut_off() -> AsyncIterator[bytes]:
        yield DATA[Q : Q + 1000]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.write_chunk(KEY, size=len(DATA), start=Q, length=Q, body=cut_off())
    assert storage.partial_path(KEY).read_bytes() == DATA[:Q]

    with pytest.raises(ChunkRejected, match="carries 1000 bytes"):
        await storage.write_chunk(KEY, size=len(DATA), start=Q, length=Q, body=one(DATA[Q : Q + 1000]))
    with pytest.raises(ChunkRejected, match="more than"):
        await storage.write_chunk(KEY, size=len(DATA), start=Q, length=Q, body=one(DATA[Q : 3 * Q]))
    assert (await storage.resumable_status(KEY, size=len(DATA))).offset == Q


async def test_one_writer_at_a_time(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await session_url(storage)
    storage.path(KEY).parent.mkdir(parents=True)
    holder = _Partial.open(storage.path(KEY), storage.partial_path(KEY))
    assert holder is not None
    try:
        with pytest.raises(UploadBusy):
            await storage.write_chunk(KEY, size=len(DATA), start=0, length=Q, body=one(DATA[:Q]))
        busy = await http.put(url, content=DATA[:Q], headers={"Content-Range": f"bytes 0-{Q - 1}/*"})
        assert busy.status_code == 409
    finally:
        holder.close()
    assert (await http.put(url, content=DATA)).status_code == 200


async def test_abort_removes_partial_and_finished_bytes(storage: LocalStorage) -> None:
    await storage.write_chunk(KEY, size=len(DATA), start=0, length=Q, body=one(DATA[:Q]))
    await storage.abort_upload(KEY, "unused")
    assert files_under(storage) == []
    await storage.write_chunk(KEY, size=len(DATA), start=0, length=len(DATA), body=one(DATA))
    assert files_under(storage) == [KEY]
    await storage.abort_upload(KEY, "unused")
    assert list(storage.root.iterdir()) == [], "emptied folders are removed too"
    await storage.abort_upload(KEY, "unused")  # nothing left: still fine


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data
