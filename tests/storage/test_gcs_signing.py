"""Signing GCS links on every kind of Google credentials, and serving them through the app instead.

Key files sign locally; credentials without a key sign through a loopback stand-in for the IAM
Credentials API that the real google-auth transport talks to. The bytes come from gcp-storage-emulator.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from google.auth import compute_engine
from google.auth.compute_engine import _metadata
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs
from google.oauth2 import credentials as user_credentials
from starlette.applications import Starlette
from starlette.requests import Request

from audiocity.http.bucket_files import bucket_file_routes
from audiocity.models import Audiobook, AudioFile, DownloadKind, TranscriptStatus
from audiocity.services import downloads
from audiocity.storage.base import LinkUnavailable
from audiocity.storage.gcs import AppLinks, GCSStorage
from audiocity.storage.gcs_signing import IAMSigningCredentials, signing_credentials
from audiocity.storage.signing import DownloadGrant, content_disposition, verify
from tests.fakes.iam_server import RUNTIME_ACCOUNT, FakeIAM
from tests.storage.gcs_emulator import SIGNER_EMAIL, check_v4_signature, gcs_emulator, service_account_key_file

BUCKET = "signing-test"
DATA = os.urandom(700_000)
OTHER_SIGNER = "links@audiocity-test.iam.gserviceaccount.com"


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with gcs_emulator(BUCKET) as url:
        yield url


@pytest.fixture(scope="module")
def iam() -> Iterator[FakeIAM]:
    with FakeIAM() as fake:
        yield fake


@pytest.fixture(autouse=True)
def iam_succeeds(iam: FakeIAM) -> None:
    iam.fail_with = None


@pytest.fixture
def key_file(tmp_path: Path, iam: FakeIAM, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, object]:
    """GOOGLE_APPLICATION_CREDENTIALS as a deployer sets it; its tokens come from the stand-in."""
    path = tmp_path / "key.json"
    public_key = service_account_key_file(path, token_uri=iam.token_uri)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path, public_key


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url)


async def test_a_key_file_signs_locally_under_the_emulator(emulator: str, key_file: tuple[Path, object]) -> None:
    storage = GCSStorage(BUCKET, "p")  # as get_storage builds it: nothing passed in
    await storage.write("books/a.mp3", chunks(DATA), "audio/mpeg")
    signed = storage.signed_download_url("books/a.mp3", expires_in=600, filename="a.mp3", content_type="audio/mpeg")

    assert signed.url.startswith(f"{emulator}/{BUCKET}/p/books/a.mp3?"), "links point at the emulator"
    params = check_v4_signature(signed.url, key_file[1])  # type: ignore[arg-type]
    assert params["X-Goog-Credential"].startswith(f"{SIGNER_EMAIL}/")
    response = await fetch(signed.url)
    assert response.status_code == 200 and response.content == DATA


async def test_no_key_under_the_emulator_is_a_typed_error(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    storage = GCSStorage(BUCKET)
    with pytest.raises(LinkUnavailable) as caught:
        storage.signed_download_url("books/a.mp3", expires_in=600, filename="a.mp3", content_type="audio/mpeg")
    assert caught.value.code == "SIGNING_UNAVAILABLE"
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(caught.value)


async def test_credentials_without_a_key_sign_through_iam(emulator: str, iam: FakeIAM) -> None:
    """User or workload-identity credentials: a token, no key; the named account signs through IAM."""
    creds = user_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None, refresh_token="refresh-me", token_uri=iam.token_uri, client_id="c", client_secret="s"
    )
    signer = signing_credentials(creds, emulator=False, signer_email=OTHER_SIGNER, iam_endpoint=iam.base_url)
    assert isinstance(signer, IAMSigningCredentials)
    client = gcs.Client(project="audiocity-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    storage = GCSStorage(BUCKET, client=client, signing_credentials=signer)
    await storage.write("books/iam.mp3", chunks(DATA), "audio/mpeg")
    before = len(iam.signed)

    signed = storage.signed_download_url("books/iam.mp3", expires_in=900, filename="Été.mp3", content_type="audio/mpeg")

    calls = iam.signed[before:]
    assert len(calls) == 1 and calls[0].email == OTHER_SIGNER
    assert calls[0].authorization.startswith("Bearer ya29.fake-"), "the token google-auth fetched from the stand-in"
    params = check_v4_signature(signed.url, iam.public_key)
    assert params["X-Goog-Signature"] == calls[0].signature.hex(), "the URL carries the stand-in's signature"
    assert params["X-Goog-Credential"].startswith(f"{OTHER_SIGNER}/")
    assert params["response-content-disposition"] == content_disposition("Été.mp3")
    assert (await fetch(signed.url)).content == DATA


async def test_a_key_signs_as_another_account_through_iam(emulator: str, iam: FakeIAM, key_file: object) -> None:
    """GCS_SIGNER_EMAIL naming another account: the key's account asks IAM to sign as it."""
    storage = GCSStorage(BUCKET, signer_email=OTHER_SIGNER, iam_endpoint=iam.base_url)
    await storage.write("books/other.mp3", chunks(DATA[:1000]), "audio/mpeg")
    signed = storage.signed_download_url("books/other.mp3", expires_in=60, filename="o.mp3", content_type="audio/mpeg")
    params = check_v4_signature(signed.url, iam.public_key)
    assert params["X-Goog-Signature"] == iam.signed[-1].signature.hex()
    assert (await fetch(signed.url)).content == DATA[:1000]


async def test_metadata_server_credentials_sign_as_their_own_account(
    emulator: str, iam: FakeIAM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud Run, GKE, GCE: no key, no email configured; the metadata server names the account."""
    netloc = urlsplit(iam.base_url).netloc
    monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", netloc)  # what GCE_METADATA_HOST sets at import
    creds = compute_engine.Credentials()  # type: ignore[no-untyped-call]
    signer = signing_credentials(creds, emulator=False, iam_endpoint=iam.base_url)
    client = gcs.Client(project="audiocity-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    storage = GCSStorage(BUCKET, client=client, signing_credentials=signer)
    await storage.write("books/gce.mp3", chunks(DATA[:2000]), "audio/mpeg")

    signed = storage.signed_download_url("books/gce.mp3", expires_in=60, filename="g.mp3", content_type="audio/mpeg")

    call = iam.signed[-1]
    assert call.email == RUNTIME_ACCOUNT and call.authorization.startswith("Bearer ya29.metadata-")
    params = check_v4_signature(signed.url, iam.public_key)
    assert params["X-Goog-Credential"].startswith(f"{RUNTIME_ACCOUNT}/")
    assert (await fetch(signed.url)).content == DATA[:2000]


def _book() -> tuple[Audiobook, list[AudioFile]]:
    book = Audiobook(id=uuid.uuid4(), title="Signed", price_cents=1, transcript_status=TranscriptStatus.READY)
    files = [
        AudioFile(
            id=uuid.uuid4(),
            audiobook_id=book.id,
            position=i,
            file_name=f"{i}.mp3",
            content_type="audio/mpeg",
            size_bytes=10,
            storage_key=f"audiobooks/{book.id}/files/{i}.mp3",
        )
        for i in range(2)
    ]
    return book, files


async def test_an_iam_failure_is_a_typed_error_on_each_link(emulator: str, iam: FakeIAM, key_file: object) -> None:
    storage = GCSStorage(BUCKET, signer_email=OTHER_SIGNER, iam_endpoint=iam.base_url)
    iam.fail_with = 403
    with pytest.raises(LinkUnavailable) as caught:
        storage.signed_download_url("books/x.mp3", expires_in=60, filename="x.mp3", content_type="audio/mpeg")
    assert caught.value.code == "SIGNING_FAILED" and "403" in str(caught.value)

    book, files = _book()
    links = downloads.download_links(storage, user_id=uuid.uuid4(), book=book, files=files, ttl_seconds=60)
    assert [link.kind for link in links] == [DownloadKind.AUDIO] * 2 + [
        DownloadKind.TRANSCRIPT_TEXT,
        DownloadKind.TRANSCRIPT_VTT,
    ]
    for link in links:
        assert link.url is None and link.expires_at is None and link.error is not None
        assert link.error.code == downloads.DownloadErrorCode.SIGNING_FAILED
        assert "PERMISSION_DENIED" not in link.error.message, "details stay in the logs"

    iam.fail_with = None
    again = downloads.download_links(storage, user_id=uuid.uuid4(), book=book, files=files, ttl_seconds=60)
    assert all(link.url and link.error is None for link in again), "the next answer signs again"


# --- DOWNLOAD_MODE=proxy: the app serves the bucket's bytes -----------------------------------------


async def test_proxy_links_stream_ranges_from_the_bucket(emulator: str) -> None:
    secret = "proxy-secret"
    client = gcs.Client(project="audiocity-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    storage = GCSStorage(
        BUCKET, "proxy", client=client, app_links=AppLinks(secret, "http://app.test"), read_block_size=256 * 1024
    )
    key = "audiobooks/b/files/1.mp3"
    await storage.write(key, chunks(DATA), "audio/mpeg")
    user = str(uuid.uuid4())
    signed = storage.signed_download_url(
        key, expires_in=600, filename="01 - one.mp3", content_type="audio/mpeg", user_id=user
    )
    parts = urlsplit(signed.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "app.test", f"/files/{key}")
    grant = verify(secret, key, dict(parse_qsl(parts.query)))
    assert grant is not None and grant.user_id == user

    allowed: set[tuple[str, str | None]] = {(key, user)}
    served: list[tuple[DownloadGrant, int, int]] = []

    async def authorize(request: Request, k: str, u: str | None) -> bool:
        return (k, u) in allowed

    async def on_served(request: Request, g: DownloadGrant, start: int, end: int) -> None:
        served.append((g, start, end))

    app = Starlette(routes=bucket_file_routes(storage, secret, authorize, on_served))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http:
        whole = await http.get(signed.url)
        assert whole.status_code == 200 and whole.content == DATA
        assert whole.headers["content-disposition"] == content_disposition("01 - one.mp3")
        assert whole.headers["accept-ranges"] == "bytes"

        ranged = await http.get(signed.url, headers={"Range": "bytes=300000-600000"})
        assert ranged.status_code == 206 and ranged.content == DATA[300_000:600_001]
        assert ranged.headers["content-range"] == f"bytes 300000-600000/{len(DATA)}"
        tail = await http.get(signed.url, headers={"Range": "bytes=-10"})
        assert tail.content == DATA[-10:]
        beyond = await http.get(signed.url, headers={"Range": f"bytes={len(DATA)}-"})
        assert beyond.status_code == 416

        head = await http.head(signed.url)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA)) and head.content == b""

        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        forged = await http.get(f"/files/{key}", params={**query, "u": str(uuid.uuid4())})
        assert forged.status_code == 403
        allowed.clear()  # refunded: the still-valid link stops working
        assert (await http.get(signed.url)).status_code == 403

    size = len(DATA)
    assert [(start, end) for _, start, end in served] == [(0, size - 1), (300_000, 600_000), (size - 10, size - 1)]
