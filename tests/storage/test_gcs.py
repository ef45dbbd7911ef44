"""GCSStorage against gcp-storage-emulator, driven by the real google-cloud-storage client."""

import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import google_crc32c
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from audiocity.config import Settings
from audiocity.http.uploads import upload_routes
from audiocity.storage import get_storage
from audiocity.storage.base import ObjectNotFound, Storage
from audiocity.storage.gcs import GCSStorage
from audiocity.storage.signing import content_disposition
from tests.storage.gcs_emulator import check_v4_signature, gcs_emulator, service_account_signer
from tests.uploads import resumable

BUCKET = "audiocity-test"
DATA = os.urandom(3 * 1024 * 1024 + 12_345)  # several 256 KiB upload chunks and read blocks


async def chunks(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: GCSStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([block async for block in storage.read(key, start, end)])


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with gcs_emulator(BUCKET) as url:
        yield url


@pytest.fixture(scope="module")
def signer() -> tuple[service_account.Credentials, rsa.RSAPublicKey]:
    return service_account_signer()


@pytest.fixture(scope="module")
def storage(emulator: str, signer: tuple[service_account.Credentials, rsa.RSAPublicKey]) -> GCSStorage:
    # No client passed: the default one must find the emulator through STORAGE_EMULATOR_HOST.
    return GCSStorage(
        BUCKET,
        "test-prefix/",
        signing_credentials=signer[0],
        upload_chunk_size=256 * 1024,
        read_block_size=1024 * 1024,
    )


def test_is_a_storage(storage: GCSStorage, emulator: str) -> None:
    backend: Storage = storage
    assert backend is storage
    assert storage.client.api_endpoint == emulator
    assert storage.blob_name("a/b") == "test-prefix/a/b"


def test_get_storage_picks_gcs(emulator: str, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        gcs_bucket=BUCKET,
        gcs_prefix="audiocity",
    )
    storage = get_storage(settings)
    assert isinstance(storage, GCSStorage)
    assert (storage.bucket.name, storage.blob_name("k")) == (BUCKET, "audiocity/k")
    assert not (tmp_path / "secret_key").exists()  # GCS storage needs no local secret


async def test_write_stat_read(storage: GCSStorage) -> None:
    info = await storage.write("books/1/part 1.mp3", chunks(DATA), "audio/mpeg")
    assert info.size == len(DATA)
    assert info.md5_hex == hashlib.md5(DATA).hexdigest()
    assert info.crc32c == google_crc32c.value(DATA)
    assert info.content_type == "audio/mpeg"

    assert await storage.stat("books/1/part 1.mp3") == info
    assert await storage.stat("books/1/missing.mp3") is None
    blob = storage.client.bucket(BUCKET).get_blob("test-prefix/books/1/part 1.mp3")
    assert blob is not None and blob.size == len(DATA)

    assert await read_all(storage, "books/1/part 1.mp3") == DATA
    for start, end in [(0, 0), (1_000_000, 2_500_000), (len(DATA) - 10, len(DATA) + 10), (100, None)]:
        expected = DATA[start:] if end is None else DATA[start : end + 1]
        assert await read_all(storage, "books/1/part 1.mp3", start, end) == expected


async def test_empty_object(storage: GCSStorage) -> None:
    info = await storage.write("empty", chunks(b""))
    assert (info.size, info.crc32c) == (0, 0)
    assert await read_all(storage, "empty") == b""


async def test_download_to_and_delete(storage: GCSStorage, tmp_path: Path) -> None:
    await storage.write("copy/me", chunks(DATA))
    target = tmp_path / "copy.bin"
    await storage.download_to("copy/me", target)
    assert target.read_bytes() == DATA

    await storage.delete("copy/me")
    await storage.delete("copy/me")
    assert await storage.stat("copy/me") is None
    with pytest.raises(ObjectNotFound):
        await read_all(storage, "copy/me")
    with pytest.raises(ObjectNotFound):
        await storage.download_to("copy/me", tmp_path / "missing.bin")
    assert sorted(os.listdir(tmp_path)) == ["copy.bin"]


async def test_failed_write_creates_no_object(storage: GCSStorage) -> None:
    await storage.write("half", chunks(b"old version"))

    async def failing() -> AsyncIterator[bytes]:
        async for chunk in chunks(DATA[:1_000_000]):  # enough for some chunks to reach the server
            yield chunk
        raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError, match="upload interrupted"):
        await storage.write("half", failing())
    with pytest.raises(RuntimeError, match="upload interrupted"):
        await storage.write("never", failing())
    assert await read_all(storage, "half") == b"old version"
    assert await storage.stat("never") is None


async def test_bad_keys_are_refused(storage: GCSStorage) -> None:
    for key in ["", "/abs", "a/../b", "a//b", "a\nb"]:
        with pytest.raises(ValueError):
            await storage.stat(key)


async def test_signed_download_url(
    storage: GCSStorage, signer: tuple[service_account.Credentials, rsa.RSAPublicKey]
) -> None:
    await storage.write("signed/part 1.mp3", chunks(DATA[:5000]), "audio/mpeg")
    signed = storage.signed_download_url(
        "signed/part 1.mp3", expires_in=900, filename="Été 01.mp3", content_type="audio/mpeg", user_id="u1"
    )
    assert abs(signed.expires_at.timestamp() - (time.time() + 900)) < 5

    assert urlsplit(signed.url).path == f"/{BUCKET}/test-prefix/signed/part%201.mp3"
    # Rebuilds the V4 string-to-sign from the spec and checks the RSA signature with the public key.
    params = check_v4_signature(signed.url, signer[1])
    assert params["X-Goog-Expires"] == "900"
    assert params["X-Goog-Credential"].startswith("signer@audiocity-test.iam.gserviceaccount.com/")
    assert params["response-content-disposition"] == content_disposition("Été 01.mp3")
    assert params["response-content-type"] == "audio/mpeg"
    signed_at = datetime.strptime(params["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at.timestamp() - time.time()) < 60

    # The emulator does not check signatures, but it serves the bytes and honours the disposition.
    async with httpx.AsyncClient() as client:
        response = await client.get(signed.url)
    assert response.status_code == 200
    assert response.content == DATA[:5000]
    assert response.headers["content-disposition"] == content_disposition("Été 01.mp3")

    with pytest.raises(ValueError):
        storage.signed_download_url("k", expires_in=8 * 24 * 3600, filename="f", content_type="audio/mpeg")


# --- resumable upload sessions (startUpload's target) ------------------------------------------


async def test_resumable_session_interrupted_and_resumed(storage: GCSStorage) -> None:
    """Chunks PUT straight to the session URL; a new client picks up after the first one gave up."""
    key = "uploads/resumed.bin"
    target = await storage.create_upload_session(key, content_type="audio/mpeg", size=len(DATA), expires_in=3600)
    assert target.method == "PUT"
    assert target.url.startswith(storage.client.api_endpoint)
    assert abs(target.expires_at.timestamp() - (time.time() + 3600)) < 5
    source = resumable.bytes_source(DATA)

    async with httpx.AsyncClient(timeout=30) as first:
        skipped = await resumable.send_chunk(first, target.url, source, resumable.QUANTUM, resumable.QUANTUM, len(DATA))
        assert skipped.status_code == 400, "a chunk out of order is refused"
        half = await resumable.upload(
            first, target.url, source, len(DATA), chunk_size=resumable.QUANTUM * 2, stop_at=len(DATA) // 2
        )
    assert not half.done and len(DATA) // 2 <= half.offset < len(DATA)
    assert await storage.stat(key) is None, "no object until the last byte is in"

    async with httpx.AsyncClient(timeout=30) as second:
        resumed_at = await resumable.status(second, target.url, len(DATA))
        assert resumed_at == half
        done = await resumable.upload(
            second, target.url, source, len(DATA), chunk_size=resumable.QUANTUM * 4, offset=resumed_at.offset
        )
    assert done.done and done.resource is not None
    assert done.resource["size"] == str(len(DATA))
    assert done.resource["md5Hash"] == base64.b64encode(hashlib.md5(DATA).digest()).decode()

    info = await storage.stat(key)
    assert info is not None
    assert (info.size, info.md5_hex, info.crc32c) == (
        len(DATA),
        hashlib.md5(DATA).hexdigest(),
        google_crc32c.value(DATA),
    )
    assert info.content_type == "audio/mpeg"
    assert await read_all(storage, key, 1_000_000, 1_500_000) == DATA[1_000_000:1_500_001]
    assert storage.local_path(key) is None

    await storage.abort_upload(key, target.url)
    assert await storage.stat(key) is None


async def test_abort_an_unfinished_session(storage: GCSStorage) -> None:
    key = "uploads/abandoned.bin"
    target = await storage.create_upload_session(key, content_type="audio/mpeg", size=len(DATA), expires_in=60)
    async with httpx.AsyncClient(timeout=30) as http:
        sent = await resumable.upload(
            http, target.url, resumable.bytes_source(DATA), len(DATA), stop_at=resumable.QUANTUM
        )
    assert sent.offset == resumable.QUANTUM
    await storage.abort_upload(key, target.url)  # the emulator ignores the cancel; GCS answers 499
    assert await storage.stat(key) is None


async def test_upload_session_arguments_are_checked(storage: GCSStorage) -> None:
    assert upload_routes(storage) == [], "GCS takes the chunks itself: the app serves no upload route"
    with pytest.raises(ValueError):
        await storage.create_upload_session("a/b", content_type="audio/mpeg", size=10, expires_in=8 * 24 * 3600)
    with pytest.raises(ValueError):
        await storage.create_upload_session("a/../b", content_type="audio/mpeg", size=10, expires_in=60)
    with pytest.raises(ValueError):
        await storage.create_upload_session("a/b", content_type="audio/\nx", size=10, expires_in=60)
