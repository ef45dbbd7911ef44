"""The production shape on one machine, driven by the typed client over HTTP and WebSocket.

Two `audiocity serve` and two `audiocity worker` processes share one PostgreSQL and one Redis; files
live in a bucket on gcp-storage-emulator, signed with the service-account key in
GOOGLE_APPLICATION_CREDENTIALS; transcripts and summaries come from the OpenAI-compatible test server.
Two more API processes show the other ways to download: signing through the IAM Credentials API (a
loopback stand-in), and DOWNLOAD_MODE=proxy, where the app streams the bucket's bytes itself.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from audiocity_client import AudiobookInput, AudioCityClient, CheckoutInput, RegisterInput, StartUploadInput
from audiocity_client.enums import DownloadErrorCode, DownloadKind, JobStatus, OrderStatus
from audiocity_client.library import LibraryLibraryEdgesNode
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import FIXTURES
from tests.e2e.server import Server, start_server, start_worker, stop, wait_ready, wait_worker_ready
from tests.fakes.iam_server import FakeIAM
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.gcs_emulator import SIGNER_EMAIL, check_v4_signature, gcs_emulator, service_account_key_file
from tests.uploads import resumable

BUCKET = "audiocity-shape"
FILES = [FIXTURES / "speech" / "river.mp3", FIXTURES / "speech" / "library.mp3"]
IAM_SIGNER = "links@audiocity-test.iam.gserviceaccount.com"
ADMIN_PASSWORD = "admin password 1"


@dataclass
class Shape:
    api: list[Server]  # two API processes
    iam_api: Server  # signs through the IAM stand-in
    proxy_api: Server  # DOWNLOAD_MODE=proxy
    emulator: str
    public_key: rsa.RSAPublicKey
    iam: FakeIAM


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Shape]:
    root = tmp_path_factory.mktemp("production-shape")
    key_path = root / "service-account.json"
    # Its own Redis database, so no other test's queued messages reach these workers.
    redis = f"{redis_url}{'&' if '?' in redis_url else '?'}db=7"
    with ExitStack() as stack:
        emulator = stack.enter_context(gcs_emulator(BUCKET))
        iam = stack.enter_context(FakeIAM())
        openai = stack.enter_context(FakeOpenAI())
        public_key = service_account_key_file(key_path, token_uri=iam.token_uri)
        env = {
            "IN_PROCESS_WORKER": "0",
            "GCS_BUCKET": BUCKET,
            "GCS_PREFIX": "shape",
            "STORAGE_EMULATOR_HOST": emulator,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key_path),
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": openai.base_url,
            "OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
            "WORKER_THREADS": "1",
        }
        # Everything starts at once and is waited for together: start-up is mostly imports.
        api = [start_server(root / f"api-{i}", database_url, redis, **env) for i in range(2)]
        iam_api = start_server(
            root / "api-iam", database_url, redis, **env, GCS_SIGNER_EMAIL=IAM_SIGNER, GCS_IAM_ENDPOINT=iam.base_url
        )
        proxy_api = start_server(root / "api-proxy", database_url, redis, **env, DOWNLOAD_MODE="proxy")
        workers = [start_worker(root / f"worker-{i}", api[0].env) for i in range(2)]
        for server in [*api, iam_api, proxy_api]:
            stack.callback(stop, server.process)
        for worker in workers:
            stack.callback(stop, worker.process, signal.SIGTERM, 40)
        for server in [*api, iam_api, proxy_api]:
            wait_ready(server, timeout=300)
        for worker in workers:
            wait_worker_ready(worker, timeout=300)
        yield Shape(api, iam_api, proxy_api, emulator, public_key, iam)


def client(server: Server, token: str | None = None) -> AudioCityClient:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return AudioCityClient(server.graphql_url, headers=auth, ws_url=server.ws_url, ws_connection_init_payload=auth)


async def login_admin(shape: Shape) -> str:
    email = f"shape-admin-{uuid.uuid4().hex[:8]}@example.com"
    made = shape.api[0].cli("create-admin", "--email", email, "--password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr
    async with client(shape.api[0]) as anon:
        token = (await anon.login(email=email, password=ADMIN_PASSWORD)).login.access_token
    assert token is not None
    return token


async def upload_book(admin: AudioCityClient, title: str, emulator: str) -> tuple[str, str]:
    """Each file goes straight to the bucket through its resumable session; returns (book id, last job id)."""
    created = await admin.create_audiobook(AudiobookInput(title=title, priceCents=799))
    assert created.create_audiobook.audiobook is not None
    book_id = created.create_audiobook.audiobook.id
    job_id = None
    async with httpx.AsyncClient(timeout=60) as http:
        for path in FILES:
            data = path.read_bytes()
            started = await admin.start_upload(
                StartUploadInput(audiobookId=book_id, fileName=path.name, contentType="audio/mpeg", sizeBytes=len(data))
            )
            assert started.start_upload.errors == [] and started.start_upload.upload is not None
            upload = started.start_upload.upload
            assert upload.url.startswith(f"{emulator}/upload/"), "the bytes go straight to the bucket"
            sent = await resumable.upload(
                http, upload.url, resumable.bytes_source(data), len(data), chunk_size=resumable.QUANTUM
            )
            assert sent.done
            completed = await admin.complete_upload(upload.id)
            assert completed.complete_upload.errors == [] and completed.complete_upload.job is not None
            job_id = completed.complete_upload.job.id
    assert job_id is not None
    return book_id, job_id


async def buy(server: Server, book_id: str) -> str:
    """A new customer buys the book on `server`; returns their access token."""
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    async with client(server) as anon:
        registered = await anon.register(RegisterInput(email=email, password="buyer password 1"))
        assert registered.register.errors == []
        signed_in = await anon.login(email, "buyer password 1")  # `register` never signs in
    token = signed_in.login.access_token
    assert signed_in.login.errors == [] and token is not None
    async with client(server, token) as customer:
        added = await customer.add_to_cart(book_id)
        assert added.add_to_cart.errors == []
        paid = await customer.checkout(CheckoutInput(idempotencyKey=uuid.uuid4().hex))
        assert paid.checkout.errors == [] and paid.checkout.order is not None
        assert paid.checkout.order.status == OrderStatus.PAID
    return token


async def library_item(server: Server, token: str, book_id: str, **kwargs: Any) -> LibraryLibraryEdgesNode:
    async with client(server, token) as customer:
        page = await customer.library(first=50, **kwargs)
    [item] = [edge.node for edge in page.library.edges if edge.node.audiobook.id == book_id]
    return item


@pytest.fixture(scope="module")
async def book(shape: Shape) -> AsyncIterator[dict[str, str]]:
    """Uploaded and transcribed once; the tests below buy and download it in different ways."""
    token = await login_admin(shape)
    async with client(shape.api[0], token) as admin_a, client(shape.api[1], token) as admin_b:
        book_id, job_id = await upload_book(admin_a, f"Production Shape {time.monotonic_ns()}", shape.emulator)
        # The job runs on a worker process and is watched from the other API process.
        events = [event.job_updates async for event in admin_b.job_updates(job_id=job_id)]
        assert events[-1].status == JobStatus.SUCCEEDED, events[-1]
        assert [e.sequence for e in events] == sorted(e.sequence for e in events)
        published = await admin_a.publish_audiobook(book_id, published=True)
        assert published.publish_audiobook.errors == []
    yield {"id": book_id}


async def test_the_whole_story_across_processes(shape: Shape, book: dict[str, str]) -> None:
    token = await buy(shape.api[1], book["id"])
    item = await library_item(shape.api[0], token, book["id"])
    kinds = [link.kind for link in item.downloads]
    assert kinds == [DownloadKind.AUDIO, DownloadKind.AUDIO, DownloadKind.TRANSCRIPT_TEXT, DownloadKind.TRANSCRIPT_VTT]

    async with httpx.AsyncClient(timeout=60) as http:
        for link, path in zip(item.downloads[:2], FILES, strict=True):
            assert link.error is None and link.url is not None
            assert link.url.startswith(f"{shape.emulator}/{BUCKET}/shape/"), "straight from the bucket"
            params = check_v4_signature(link.url, shape.public_key)
            assert params["X-Goog-Credential"].startswith(f"{SIGNER_EMAIL}/")
            response = await http.get(link.url)
            assert response.status_code == 200 and response.content == path.read_bytes()
            assert link.size_bytes == len(path.read_bytes())
        text_link = item.downloads[2]
        assert text_link.url is not None
        check_v4_signature(text_link.url, shape.public_key)
        transcript = (await http.get(text_link.url)).text
    assert transcript.count("It says hello from the fake transcriber.") >= len(FILES), transcript


async def test_iam_signing_and_its_failure(shape: Shape, book: dict[str, str]) -> None:
    token = await buy(shape.iam_api, book["id"])
    before = len(shape.iam.signed)
    item = await library_item(shape.iam_api, token, book["id"])
    signed = shape.iam.signed[before:]
    assert len(signed) == 4 and {call.email for call in signed} == {IAM_SIGNER}
    signatures = {call.signature.hex() for call in signed}
    async with httpx.AsyncClient(timeout=60) as http:
        for link in item.downloads:
            assert link.url is not None and link.error is None
            params = check_v4_signature(link.url, shape.iam.public_key)
            assert params["X-Goog-Signature"] in signatures, "the URL carries the stand-in's signature"
            assert params["X-Goog-Credential"].startswith(f"{IAM_SIGNER}/")
        first = await http.get(item.downloads[0].url or "")
        assert first.content == FILES[0].read_bytes()

    shape.iam.fail_with = 403
    request_id = f"iam-down-{uuid.uuid4().hex[:8]}"
    try:
        failed = await library_item(shape.iam_api, token, book["id"], headers={"X-Request-ID": request_id})
    finally:
        shape.iam.fail_with = None
    assert failed.audiobook.id == book["id"], "the library still lists the book"
    for link in failed.downloads:
        assert link.url is None and link.expires_at is None
        assert link.error is not None and link.error.code == DownloadErrorCode.SIGNING_FAILED
    lines = [
        line for line in shape.iam_api.log().splitlines() if request_id in line and "uvicorn.access" not in line
    ]  # every line of the request carries its id; the failure is the one line besides the access log's
    assert len(lines) == 1 and "SIGNING_FAILED" in lines[0], lines


async def test_proxy_mode_streams_from_the_bucket_through_the_app(shape: Shape, book: dict[str, str]) -> None:
    token = await buy(shape.proxy_api, book["id"])
    item = await library_item(shape.proxy_api, token, book["id"])
    audio = item.downloads[0]
    assert audio.url is not None and urlsplit(audio.url).netloc == urlsplit(shape.proxy_api.base_url).netloc
    data = FILES[0].read_bytes()
    async with httpx.AsyncClient(timeout=60) as http:
        whole = await http.get(audio.url)
        assert whole.status_code == 200 and whole.content == data
        ranged = await http.get(audio.url, headers={"Range": "bytes=1000-4999"})
        assert ranged.status_code == 206 and ranged.content == data[1000:5000]
        assert ranged.headers["content-range"] == f"bytes 1000-4999/{len(data)}"
        query = parse_qs(urlsplit(audio.url).query)
        tampered = audio.url.replace(f"u={query['u'][0]}", f"u={uuid.uuid4()}")
        assert (await http.get(tampered)).status_code == 403, "a changed user breaks the signature"
