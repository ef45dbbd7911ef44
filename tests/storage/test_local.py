import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import google_crc32c
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request

from audiocity.config import Settings
from audiocity.http.files import RangeNotSatisfiable, file_routes, parse_range
from audiocity.storage import get_storage
from audiocity.storage.base import ObjectNotFound, Storage
from audiocity.storage.local import LocalStorage
from audiocity.storage.signing import DownloadGrant, query_params

DATA = os.urandom(300_000)  # several 64 KiB blocks plus a tail
BAD_KEYS = ["", "/abs", "../up", "a/../b", "a//b", "a/./b", "a/", "a\x00b", "a\\b", "a\nb", "x" * 1025]


async def chunks(data: bytes, size: int = 50_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: LocalStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([block async for block in storage.read(key, start, end)])


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", "test-secret", "http://testserver/")


def test_is_a_storage(storage: LocalStorage) -> None:
    backend: Storage = storage
    assert backend is storage


def test_get_storage_defaults_to_local(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        secret_key="s3cret",
        public_url="https://audio.example/",
        gcs_bucket=None,
    )
    storage = get_storage(settings)
    assert isinstance(storage, LocalStorage)
    assert (storage.root, storage.secret, storage.base_url) == (
        tmp_path / "storage",
        "s3cret",
        "https://audio.example",
    )


async def test_write_read_stat(storage: LocalStorage) -> None:
    info = await storage.write("books/1/part 1.mp3", chunks(DATA), "audio/mpeg")
    assert info.size == len(DATA)
    assert info.md5_hex == hashlib.md5(DATA).hexdigest()
    assert info.crc32c == google_crc32c.value(DATA)
    assert info.content_type == "audio/mpeg"
    assert await read_all(storage, "books/1/part 1.mp3") == DATA

    stat = await storage.stat("books/1/part 1.mp3")
    assert stat is not None
    assert (stat.size, stat.md5_hex, stat.crc32c) == (info.size, info.md5_hex, info.crc32c)
    assert await storage.stat("books/1/missing.mp3") is None
    assert await storage.stat("books/1") is None  # a folder is not an object


async def test_overwrite_and_empty_object(storage: LocalStorage) -> None:
    await storage.write("k", chunks(DATA))
    info = await storage.write("k", chunks(b""))
    assert info.size == 0
    assert await read_all(storage, "k") == b""
    assert files_under(storage.root) == [storage.root / "k"]


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (0, 9), (65_530, 65_545), (1000, None), (len(DATA) - 10, len(DATA) + 100), (len(DATA), None)],
)
async def test_read_ranges(storage: LocalStorage, start: int, end: int | None) -> None:
    await storage.write("k", chunks(DATA))
    expected = DATA[start:] if end is None else DATA[start : end + 1]
    assert await read_all(storage, "k", start, end) == expected


async def test_delete_is_idempotent(storage: LocalStorage) -> None:
    await storage.write("a/b", chunks(DATA))
    await storage.delete("a/b")
    await storage.delete("a/b")
    await storage.delete("a/b/c")  # below a missing object
    assert await storage.stat("a/b") is None
    with pytest.raises(ObjectNotFound):
        await read_all(storage, "a/b")


async def test_download_to(storage: LocalStorage, tmp_path: Path) -> None:
    await storage.write("k", chunks(DATA))
    target = tmp_path / "copy.bin"
    await storage.download_to("k", target)
    assert target.read_bytes() == DATA
    with pytest.raises(ObjectNotFound):
        await storage.download_to("missing", tmp_path / "missing.bin")
    assert not (tmp_path / "missing.bin").exists()


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(storage: LocalStorage, key: str) -> None:
    with pytest.raises(ValueError):
        await storage.write(key, chunks(b"x"))
    with pytest.raises(ValueError):
        await read_all(storage, key)
    with pytest.raises(ValueError):
        await storage.stat(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    with pytest.raises(ValueError):
        storage.signed_download_url(key, expires_in=60, filename="f", content_type="audio/mpeg")
    assert not storage.root.exists() or files_under(storage.root) == []
    assert not (storage.root.parent / "up").exists()


async def test_failed_write_leaves_nothing_behind(storage: LocalStorage) -> None:
    await storage.write("books/k", chunks(b"old version"))

    async def failing() -> AsyncIterator[bytes]:
        yield DATA[:100_000]
        yield DATA[100_000:200_000]
        raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError, match="upload interrupted"):
        await storage.write("books/k", failing())
    with pytest.raises(RuntimeError, match="upload interrupted"):
        await storage.write("books/new", failing())
    assert files_under(storage.root) == [storage.root / "books" / "k"]
    assert await read_all(storage, "books/k") == b"old version"


async def test_cancelled_write_leaves_nothing_behind(storage: LocalStorage) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield DATA
        started.set()
        await asyncio.sleep(60)
        yield DATA

    task = asyncio.create_task(storage.write("books/k", stalled()))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_under(storage.root) == []


def test_signed_url_shape(storage: LocalStorage) -> None:
    before = int(time.time())
    signed = storage.signed_download_url(
        "books/1/part 1.mp3", expires_in=900, filename="Part 1.mp3", content_type="audio/mpeg", user_id="u1"
    )
    assert signed.url.startswith("http://testserver/files/books/1/part%201.mp3?exp=")
    assert "&u=u1&fn=Part%201.mp3&ct=audio%2Fmpeg&sig=" in signed.url
    assert before + 900 <= signed.expires_at.timestamp() <= time.time() + 900
    with pytest.raises(ValueError):
        storage.signed_download_url("k", expires_in=0, filename="f", content_type="audio/mpeg")
    with pytest.raises(ValueError):
        storage.signed_download_url("k", expires_in=60, filename="f", content_type="audio/mpeg\r\nX: y")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),
        ("bytes=95-1000", (95, 99)),
        ("BYTES = 1 - 2", (1, 2)),
        ("bytes=5-1", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0), ("bytes=-5", 0)])
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


# --- the /files/ route over real HTTP -----------------------------------------------------------


@dataclass
class Server:
    storage: LocalStorage
    revoked: set[str | None]
    authorized: list[tuple[str, str | None]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The routes in a tiny Starlette app, served by uvicorn in a thread on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    storage = LocalStorage(tmp_path_factory.mktemp("served"), "route-secret", f"http://127.0.0.1:{port}")
    state = Server(storage=storage, revoked=set(), authorized=[])

    async def authorize(request: Request, key: str, user_id: str | None) -> bool:
        state.authorized.append((key, user_id))
        return user_id not in state.revoked

    app = Starlette(routes=file_routes(storage, authorize=authorize))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield state
    uv.should_exit = True
    thread.join(10)
    sock.close()


KEY = "books/1/Été 01 #1?.mp3"


@pytest.fixture(scope="module")
async def served(server: Server) -> Server:
    await server.storage.write(KEY, chunks(DATA), "audio/mpeg")
    return server


def url_for(server: Server, key: str = KEY, user_id: str | None = "u1", **kwargs: int) -> str:
    return server.storage.signed_download_url(
        key,
        expires_in=kwargs.get("expires_in", 60),
        filename="Été 01.mp3",
        content_type="audio/mpeg",
        user_id=user_id,
    ).url


async def test_get_whole_file(served: Server) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(url_for(served))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Ete 01.mp3\"; filename*=UTF-8''%C3%89t%C3%A9%2001.mp3"
    )
    assert (KEY, "u1") in served.authorized


async def test_ranges(served: Server) -> None:
    url = url_for(served)
    async with httpx.AsyncClient() as client:
        middle = await client.get(url, headers={"Range": "bytes=70000-140000"})
        tail = await client.get(url, headers={"Range": "bytes=-1000"})
        rest = await client.get(url, headers={"Range": "bytes=299990-"})
        beyond = await client.get(url, headers={"Range": f"bytes={len(DATA)}-"})
        several = await client.get(url, headers={"Range": "bytes=0-1,5-6"})
        stale = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": '"not-the-etag"'})
        fresh = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": middle.headers["etag"]})
    assert middle.status_code == 206
    assert middle.content == DATA[70000:140001]
    assert middle.headers["content-range"] == f"bytes 70000-140000/{len(DATA)}"
    assert middle.headers["content-length"] == "70001"
    assert (tail.status_code, tail.content) == (206, DATA[-1000:])
    assert (rest.status_code, rest.content) == (206, DATA[299990:])
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"
    assert (several.status_code, several.content) == (200, DATA)
    assert (stale.status_code, len(stale.content)) == (200, len(DATA))
    assert (fresh.status_code, fresh.content) == (206, DATA[:2])


async def test_head(served: Server) -> None:
    async with httpx.AsyncClient() as client:
        whole = await client.head(url_for(served))
        part = await client.head(url_for(served), headers={"Range": "bytes=0-99"})
    assert (whole.status_code, whole.content) == (200, b"")
    assert whole.headers["content-length"] == str(len(DATA))
    assert whole.headers["content-type"] == "audio/mpeg"
    assert (part.status_code, part.headers["content-length"]) == (206, "100")


async def test_refusals(served: Server) -> None:
    url = url_for(served)
    grant = DownloadGrant(KEY, int(time.time()) - 1, "u1", "Été 01.mp3", "audio/mpeg")
    expired = (
        f"{served.storage.base_url}/files/{quote(KEY)}?"
        f"{urlencode(query_params(served.storage.secret, grant), quote_via=quote)}"
    )
    served.revoked.add("revoked-user")
    async with httpx.AsyncClient() as client:
        tampered_sig = await client.get(url[:-4] + ("0000" if not url.endswith("0000") else "1111"))
        tampered_name = await client.get(url.replace("fn=%C3%89t%C3%A9%2001.mp3", "fn=evil.html"))
        no_sig = await client.get(url.split("&sig=")[0])
        other_key = await client.get(url.replace(quote(KEY), "books/1/other.mp3"))
        too_late = await client.get(expired)
        revoked = await client.get(url_for(served, user_id="revoked-user"))
    for response, reason in [
        (tampered_sig, "Invalid signature."),
        (tampered_name, "Invalid signature."),
        (no_sig, "Invalid signature."),
        (other_key, "Invalid signature."),
        (too_late, "Link expired."),
        (revoked, "Not allowed."),
    ]:
        assert (response.status_code, response.text) == (403, reason)


async def test_missing_object_is_404(served: Server) -> None:
    await served.storage.write("gone/soon.mp3", chunks(b"bytes"))
    url = url_for(served, key="gone/soon.mp3")
    await served.storage.delete("gone/soon.mp3")
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 404


async def test_empty_object(served: Server) -> None:
    await served.storage.write("empty", chunks(b""))
    async with httpx.AsyncClient() as client:
        whole = await client.get(url_for(served, key="empty"))
        ranged = await client.get(url_for(served, key="empty"), headers={"Range": "bytes=0-"})
    assert (whole.status_code, whole.content, whole.headers["content-length"]) == (200, b"", "0")
    assert ranged.status_code == 416
