"""Bundle links and the streamed ZIP, over a real local storage folder."""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from audiocity.services import bundles
from audiocity.storage.base import ObjectNotFound
from audiocity.storage.local import LocalStorage

SECRET = "bundle-test-secret"


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_bundle_links_are_signed_over_book_expiry_user_and_name() -> None:
    signed = bundles.bundle_url(
        "http://app.test/", SECRET, audiobook_id="b1", user_id="u1", filename="Été.zip", expires_in=60
    )
    parts = urlsplit(signed.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "app.test", "/bundles/b1")
    params = _params(signed.url)
    grant = bundles.verify(SECRET, "b1", params)
    assert grant == bundles.BundleGrant("b1", int(params["exp"]), "u1", "Été.zip")
    assert int(signed.expires_at.timestamp()) == grant.expires_at

    assert bundles.verify(SECRET, "b2", params) is None
    assert bundles.verify("other-secret", "b1", params) is None
    for field, value in (("u", "u2"), ("u", ""), ("fn", "x.zip"), ("exp", str(int(params["exp"]) + 1))):
        assert bundles.verify(SECRET, "b1", {**params, field: value}) is None, field
    for missing in ("exp", "fn", "sig"):
        assert bundles.verify(SECRET, "b1", {k: v for k, v in params.items() if k != missing}) is None
    assert bundles.verify(SECRET, "b1", {**params, "exp": "soon"}) is None
    assert bundles.verify(SECRET, "b1", params, now=time.time() + 61) is None
    with pytest.raises(ValueError):
        bundles.bundle_url("http://a", SECRET, audiobook_id="b", user_id="u", filename="f", expires_in=0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Plain", "Plain"), ("a/b\\c", "a_b_c"), ("../../etc", "_.._etc"), ("..", "audiobook"), ("x\x00\ny", "xy")],
)
def test_safe_name(name: str, expected: str) -> None:
    assert bundles.safe_name(name) == expected


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def stored(tmp_path: Path) -> tuple[LocalStorage, dict[str, bytes]]:
    storage = LocalStorage(tmp_path / "objects", SECRET, "http://app.test")
    objects = {
        "audiobooks/b/files/1.mp3": os.urandom(300_000),  # several 64 KiB reads
        "audiobooks/b/files/2.mp3": os.urandom(10),
        "audiobooks/b/files/3.mp3": b"",
        "audiobooks/b/transcript.txt": "Once upon a time — Été.\n".encode(),
    }
    for key, data in objects.items():
        await storage.write(key, _once(data))
    return storage, objects


async def test_stream_zip_unzips_to_the_same_bytes_stored(stored: tuple[LocalStorage, dict[str, bytes]]) -> None:
    storage, objects = stored
    members = [
        bundles.Member(f"Book/{i:02d} {key.rsplit('/', 1)[1]}", key, len(v))
        for i, (key, v) in enumerate(objects.items())
    ]
    length, body = bundles.stream_zip(storage, members)
    data = b"".join([chunk async for chunk in body])
    assert len(data) == length == bundles.zip_size(members)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert [i.filename for i in archive.infolist()] == [m.name for m in members]
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
        for m in members:
            assert archive.read(m.name) == objects[m.key]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_stream_zip_releases_files_when_the_client_goes_away(
    stored: tuple[LocalStorage, dict[str, bytes]],
) -> None:
    storage, objects = stored
    members = [bundles.Member(key, key, len(v)) for key, v in objects.items()]
    before = _open_fds()
    _, body = bundles.stream_zip(storage, members)
    stream = aiter(body)
    header = await anext(stream)
    assert header.startswith(b"PK\x03\x04")  # the first member's header goes out before any read
    first_block = await anext(stream)
    assert first_block == objects[members[0].key][: len(first_block)]
    assert _open_fds() == before + 1
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(5):  # LocalStorage.read's inner file reader is finalized by the loop, a step later
        await asyncio.sleep(0)
    assert _open_fds() == before


async def test_stream_zip_fails_loudly_on_a_missing_or_changed_object(
    stored: tuple[LocalStorage, dict[str, bytes]],
) -> None:
    storage, objects = stored
    key = next(iter(objects))
    _, missing = bundles.stream_zip(storage, [bundles.Member("gone", "audiobooks/b/files/none.mp3", 5)])
    with pytest.raises(ObjectNotFound):
        _ = [chunk async for chunk in missing]
    _, changed = bundles.stream_zip(storage, [bundles.Member("a", key, len(objects[key]) - 1)])
    with pytest.raises(RuntimeError, match="size"):
        _ = [chunk async for chunk in changed]


async def test_stream_zip_reads_from_gcs_too(tmp_path: Path) -> None:
    """GCS cannot zip: the app builds the archive from ranged GCS reads (here against the emulator)."""
    from audiocity.storage.gcs import GCSStorage
    from tests.storage.gcs_emulator import gcs_emulator

    objects = {"audiobooks/b/files/1.mp3": os.urandom(2_500_000), "audiobooks/b/transcript.vtt": b"WEBVTT\n"}
    with gcs_emulator("bundle-test") as _:
        storage = GCSStorage("bundle-test", "prefix", read_block_size=1024 * 1024)
        for key, data in objects.items():
            await storage.write(key, _once(data), "application/octet-stream")
        members = [bundles.Member(key.rsplit("/", 1)[1], key, len(v)) for key, v in objects.items()]
        length, body = bundles.stream_zip(storage, members)
        data = b"".join([chunk async for chunk in body])
    assert len(data) == length
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert [archive.read(m.name) for m in members] == list(objects.values())
