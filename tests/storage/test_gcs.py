"""GCSStorage against gcp-storage-emulator, driven by the real google-cloud-storage client."""

import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import google_crc32c
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gcp_storage_emulator.server import create_server
from google.oauth2 import service_account

from audiocity.config import Settings
from audiocity.storage import get_storage
from audiocity.storage.base import ObjectNotFound, Storage
from audiocity.storage.gcs import GCSStorage
from audiocity.storage.signing import content_disposition

BUCKET = "audiocity-test"
DATA = os.urandom(3 * 1024 * 1024 + 12_345)  # several 256 KiB upload chunks and read blocks


async def chunks(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: GCSStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([block async for block in storage.read(key, start, end)])


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """An in-memory emulator in a thread on a free loopback port, announced like in production."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORAGE_EMULATOR_HOST", url)
        yield url
    server.stop()


@pytest.fixture(scope="module")
def signer() -> tuple[service_account.Credentials, rsa.RSAPublicKey]:
    """Service-account credentials with a key made here: signing needs no network."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "audiocity-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "signer@audiocity-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    return credentials, key.public_key()


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

    url = urlsplit(signed.url)
    assert url.path == f"/{BUCKET}/test-prefix/signed/part%201.mp3"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert params["X-Goog-Expires"] == "900"
    assert params["X-Goog-SignedHeaders"] == "host"
    assert params["X-Goog-Credential"].startswith("signer@audiocity-test.iam.gserviceaccount.com/")
    assert params["response-content-disposition"] == content_disposition("Été 01.mp3")
    assert params["response-content-type"] == "audio/mpeg"
    signed_at = datetime.strptime(params["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at.timestamp() - time.time()) < 60

    # Rebuild the V4 string-to-sign from the spec and check the RSA signature with the public key.
    canonical_query, signature = url.query.rsplit("&X-Goog-Signature=", 1)
    rebuilt = "&".join(sorted(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in parse_qsl(canonical_query)))
    assert rebuilt == canonical_query
    canonical_request = "\n".join(
        ["GET", url.path, canonical_query, f"host:{url.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = params["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            params["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    public_key = signer[1]
    public_key.verify(bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())

    # The emulator does not check signatures, but it serves the bytes and honours the disposition.
    async with httpx.AsyncClient() as client:
        response = await client.get(signed.url)
    assert response.status_code == 200
    assert response.content == DATA[:5000]
    assert response.headers["content-disposition"] == content_disposition("Été 01.mp3")

    with pytest.raises(ValueError):
        storage.signed_download_url("k", expires_in=8 * 24 * 3600, filename="f", content_type="audio/mpeg")
