"""Uploads through the public API of a real `audiocity serve` process on local storage, over real HTTP.

The server runs without a worker, on a Redis of its own, so queued transcription jobs stay queued
(checked in the database) and nothing else picks them up.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import google_crc32c
import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.db import session_scope
from audiocity.graphql.relay import from_global_id
from audiocity.models import Job, JobStatus, Role, UploadSession, UploadStatus, User, utcnow
from tests.conftest import FIXTURES
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.fixtures.audio import tone_file, truncated_copy
from tests.uploads import resumable
from tests.uploads.wav import wav_source

SPEECH = FIXTURES / "speech"
RIVER, LIGHTHOUSE, LIBRARY = SPEECH / "river.mp3", SPEECH / "lighthouse.mp3", SPEECH / "library.mp3"
Q = resumable.QUANTUM
INLINE_CAP = 1_000_000

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  accessToken user { id } errors { code } } }"""
CREATE_BOOK = """mutation($input: AudiobookInput!) { createAudiobook(input: $input) {
  audiobook { id } errors { code } } }"""
START = """mutation($input: StartUploadInput!) { startUpload(input: $input) {
  upload { id url method headers expiresAt sizeBytes chunkSize } errors { code field message } } }"""
COMPLETE = """mutation($id: ID!) { completeUpload(uploadId: $id) {
  audioFile { id position fileName sizeBytes durationSeconds codec } job { id status }
  errors { code field message } } }"""
CANCEL = """mutation($id: ID!) { cancelUpload(uploadId: $id) { cancelled errors { code field message } } }"""
INLINE = """mutation($audiobookId: ID!, $file: Upload!) { uploadAudioFile(audiobookId: $audiobookId, file: $file) {
  audioFile { id position fileName sizeBytes } job { id } errors { code field message } } }"""
REORDER = """mutation($id: ID!, $fileIds: [ID!]!) { reorderAudioFiles(audiobookId: $id, fileIds: $fileIds) {
  audiobook { files { id position fileName } } errors { code field message } } }"""
DELETE = """mutation($id: ID!) { deleteAudioFile(id: $id) {
  audiobook { durationSeconds files { id position fileName durationSeconds } } errors { code field message } } }"""
BOOK = """query($id: ID!) { audiobook(id: $id) { durationSeconds files { id position fileName durationSeconds } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("uploads-app")
    with run_server(
        data_dir, database_url, None, IN_PROCESS_WORKER="0", MAX_INLINE_UPLOAD_BYTES=str(INLINE_CAP)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """35 s of 16 kHz PCM WAV, about 1.1 MB: five resumable chunks."""
    return tone_file(tmp_path_factory.mktemp("tone") / "tone.wav", 35)


@pytest.fixture(scope="module")
def tone_data(tone: Path) -> bytes:
    return tone.read_bytes()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=120) as client:
        yield client


async def make_admin(
    http: httpx.AsyncClient, server: Server, sessions: async_sessionmaker[AsyncSession]
) -> GraphQLClient:
    """A new account, promoted to admin in the database (create-admin would cost a process start)."""
    anon = GraphQLClient(http, server.graphql_url)
    email = f"uploader-{uuid.uuid4().hex[:12]}@example.com"
    account = {"email": email, "password": "correct horse battery", "displayName": "Up"}
    assert (await anon(REGISTER, input=account))["register"]["errors"] == []
    login = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
      accessToken user { id } errors { code } } }"""
    payload = (await anon(login, e=email, p=account["password"]))["login"]
    async with session_scope(sessions) as session:
        user_id = from_global_id(payload["user"]["id"])[1]
        await session.execute(update(User).where(col(User.id) == user_id).values(role=Role.ADMIN))
    return GraphQLClient(http, server.graphql_url, payload["accessToken"])


@pytest.fixture
async def admin(http: httpx.AsyncClient, server: Server, sessions: async_sessionmaker[AsyncSession]) -> GraphQLClient:
    return await make_admin(http, server, sessions)


@pytest.fixture
async def book_id(admin: GraphQLClient) -> str:
    created = await admin(CREATE_BOOK, input={"title": f"Upload test {uuid.uuid4().hex[:8]}", "priceCents": 500})
    assert created["createAudiobook"]["errors"] == []
    return str(created["createAudiobook"]["audiobook"]["id"])


def book_objects(server: Server, book_id: str) -> list[str]:
    """Every file the server stored for the book, unfinished uploads included."""
    folder = Path(server.env["AUDIOCITY_DATA_DIR"]) / "storage" / "audiobooks" / str(from_global_id(book_id)[1])
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def start_upload(
    admin: GraphQLClient, book_id: str, name: str, size: int, content_type: str = "audio/mpeg", **extra: Any
) -> dict[str, Any]:
    payload = (await admin(START, input={
        "audiobookId": book_id, "fileName": name, "contentType": content_type, "sizeBytes": size, **extra,
    }))["startUpload"]  # fmt: skip
    assert payload["errors"] == [], payload["errors"]
    upload: dict[str, Any] = payload["upload"]
    assert upload["method"] == "PUT" and upload["headers"] == {}
    return upload


async def files(admin: GraphQLClient, book_id: str) -> list[dict[str, Any]]:
    book: dict[str, Any] = (await admin(BOOK, id=book_id))["audiobook"]
    return list(book["files"])


async def upload_status(sessions: async_sessionmaker[AsyncSession], upload_id: str) -> UploadStatus:
    async with sessions() as session:
        row = await session.get(UploadSession, from_global_id(upload_id)[1])
    assert row is not None
    return row.status


# --- the whole scenario --------------------------------------------------------------------------


async def test_interrupted_upload_is_resumed_and_completed(
    server: Server, http: httpx.AsyncClient, admin: GraphQLClient, book_id: str, tone_data: bytes
) -> None:
    data = tone_data
    crc = f"{google_crc32c.value(data):08x}"
    upload = await start_upload(admin, book_id, "Chapter 1.wav", len(data), "audio/wav", crc32c=crc)
    url = upload["url"]
    assert url.startswith(f"{server.base_url}/uploads/audiobooks/")
    assert upload["sizeBytes"] == len(data) and upload["chunkSize"] % Q == 0
    source = resumable.bytes_source(data)

    sent = await resumable.upload(http, url, source, len(data), stop_at=2 * Q)
    assert sent == resumable.Progress(2 * Q)

    async def cut_off() -> AsyncIterator[bytes]:  # the connection drops in the middle of the third chunk
        yield data[2 * Q : 2 * Q + 100_000]
        raise ConnectionResetError("network gone")

    with pytest.raises(ConnectionResetError):
        await http.put(url, content=cut_off(), headers={"Content-Range": f"bytes {2 * Q}-{3 * Q - 1}/{len(data)}"})

    async with httpx.AsyncClient(timeout=60) as fresh:  # a new connection asks where to resume
        resumed = await resumable.status(fresh, url, len(data))
        assert resumed == resumable.Progress(2 * Q), "the cut-off chunk was dropped whole"
        done = await resumable.upload(fresh, url, source, len(data), chunk_size=2 * Q, offset=resumed.offset)
    assert done.resource is not None
    assert done.resource["md5Hash"] and done.resource["size"] == str(len(data))

    result = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert result["errors"] == []
    audio_file = result["audioFile"]
    assert (audio_file["position"], audio_file["fileName"], audio_file["codec"]) == (0, "Chapter 1.wav", "pcm_s16le")
    assert audio_file["sizeBytes"] == len(data)
    assert audio_file["durationSeconds"] == pytest.approx(35, abs=0.1)
    assert result["job"]["status"] == "QUEUED"
    assert from_global_id(audio_file["id"])[1] == from_global_id(upload["id"])[1]
    assert [f["fileName"] for f in await files(admin, book_id)] == ["Chapter 1.wav"]
    assert len(book_objects(server, book_id)) == 1, "the object, and no partial file"

    # sending more after completion is harmless: the client learns the upload is complete
    assert (await resumable.status(http, url, len(data))).done


# --- bad input: a clear error, no AudioFile, nothing left in storage -------------------------------


async def test_chunk_out_of_order(
    server: Server, http: httpx.AsyncClient, admin: GraphQLClient, book_id: str, tone_data: bytes
) -> None:
    data = tone_data
    upload = await start_upload(admin, book_id, "tone.wav", len(data), "audio/wav")
    source = resumable.bytes_source(data)
    await resumable.send_chunk(http, upload["url"], source, 0, Q, len(data))

    skipped = await resumable.send_chunk(http, upload["url"], source, 2 * Q, Q, len(data))
    assert skipped.status_code == 400
    assert skipped.headers["range"] == f"bytes=0-{Q - 1}"
    assert "out of order" in skipped.json()["error"]["message"]

    early = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert [e["code"] for e in early["errors"]] == ["UPLOAD_INCOMPLETE"]
    assert "send the rest" in early["errors"][0]["message"]
    cancelled = (await admin(CANCEL, id=upload["id"]))["cancelUpload"]
    assert cancelled == {"cancelled": True, "errors": []}
    assert book_objects(server, book_id) == []
    assert await files(admin, book_id) == []
    gone = await resumable.send_chunk(http, upload["url"], source, Q, Q, len(data))
    assert gone.status_code == 410


async def test_wrong_declared_size(
    server: Server, http: httpx.AsyncClient, admin: GraphQLClient, book_id: str, tone_data: bytes
) -> None:
    data = tone_data
    declared = len(data) - 3 * Q  # the client got the size wrong
    upload = await start_upload(admin, book_id, "tone.wav", declared, "audio/wav")
    source = resumable.bytes_source(data)

    whole = await http.put(upload["url"], content=data)  # more bytes than declared: refused at once
    assert whole.status_code == 400 and f"started for {declared} bytes" in whole.json()["error"]["message"]
    past_end = await resumable.send_chunk(http, upload["url"], source, 0, declared + Q - (declared % Q), len(data))
    assert past_end.status_code == 400
    assert book_objects(server, book_id) == []

    # sending exactly the declared bytes makes a cut-short file, which completeUpload refuses
    assert (await resumable.upload(http, upload["url"], source, declared)).done
    result = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert result["audioFile"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_AUDIO", "uploadId")]
    assert "looks truncated" in result["errors"][0]["message"]
    assert book_objects(server, book_id) == []
    assert await files(admin, book_id) == []


@pytest.mark.parametrize("case", ["text renamed .mp3", "truncated mp3"])
async def test_not_audio(
    server: Server,
    http: httpx.AsyncClient,
    admin: GraphQLClient,
    book_id: str,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    case: str,
) -> None:
    if case == "text renamed .mp3":
        data = ("Dear diary, today I uploaded a text file.\n" * 3000).encode()
        words = "no decodable audio"
    else:
        data = truncated_copy(LIGHTHOUSE, tmp_path / "lighthouse.mp3", fraction=0.5).read_bytes()
        words = "looks truncated"
    upload = await start_upload(admin, book_id, "chapter.mp3", len(data))
    assert (await resumable.upload(http, upload["url"], resumable.bytes_source(data), len(data))).done
    assert len(book_objects(server, book_id)) == 1

    result = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert result["audioFile"] is None and result["job"] is None
    [error] = result["errors"]
    assert (error["code"], error["field"]) == ("NOT_AUDIO", "uploadId")
    assert words in error["message"] and "'chapter.mp3'" in error["message"]
    assert book_objects(server, book_id) == []
    assert await files(admin, book_id) == []
    assert await upload_status(sessions, upload["id"]) is UploadStatus.FAILED
    retried = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert [e["code"] for e in retried["errors"]] == ["UPLOAD_CLOSED"]


async def test_someone_elses_upload(
    server: Server,
    http: httpx.AsyncClient,
    admin: GraphQLClient,
    book_id: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    data = RIVER.read_bytes()
    upload = await start_upload(admin, book_id, "river.mp3", len(data))
    assert (await resumable.upload(http, upload["url"], resumable.bytes_source(data), len(data))).done

    intruder = await make_admin(http, server, sessions)
    for mutation, name in ((COMPLETE, "completeUpload"), (CANCEL, "cancelUpload")):
        refused = (await intruder(mutation, id=upload["id"]))[name]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("UPLOAD_NOT_OWNED", "uploadId")]
    assert await files(admin, book_id) == []
    assert await upload_status(sessions, upload["id"]) is UploadStatus.PENDING

    mine = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert mine["errors"] == [] and mine["audioFile"]["fileName"] == "river.mp3"


async def test_expired_upload(
    server: Server,
    http: httpx.AsyncClient,
    admin: GraphQLClient,
    book_id: str,
    sessions: async_sessionmaker[AsyncSession],
    tone_data: bytes,
) -> None:
    data = tone_data
    upload = await start_upload(admin, book_id, "tone.wav", len(data), "audio/wav")
    source = resumable.bytes_source(data)
    await resumable.upload(http, upload["url"], source, len(data), stop_at=Q)
    assert len(book_objects(server, book_id)) == 1, "the partial file"
    async with session_scope(sessions) as session:  # the session's time runs out
        await session.execute(
            update(UploadSession)
            .where(col(UploadSession.id) == from_global_id(upload["id"])[1])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    late = await resumable.send_chunk(http, upload["url"], source, Q, Q, len(data))
    assert late.status_code == 410
    result = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("UPLOAD_EXPIRED", "uploadId")]
    assert book_objects(server, book_id) == []
    assert await files(admin, book_id) == []
    assert await upload_status(sessions, upload["id"]) is UploadStatus.EXPIRED


async def test_start_upload_refusals(admin: GraphQLClient, book_id: str) -> None:
    cases = [
        ({"contentType": "text/plain"}, "NOT_AUDIO", "contentType"),
        ({"sizeBytes": 0}, "INVALID", "sizeBytes"),
        ({"sizeBytes": 10.5}, "INVALID", "sizeBytes"),
        ({"sizeBytes": 5 * 1024**4}, "FILE_TOO_LARGE", "sizeBytes"),
        ({"md5": "xyz"}, "INVALID", "md5"),
    ]
    for changes, code, field in cases:
        variables = {"audiobookId": book_id, "fileName": "a.mp3", "contentType": "audio/mpeg", "sizeBytes": 1000}
        payload = (await admin(START, input={**variables, **changes}))["startUpload"]
        assert payload["upload"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], changes


async def test_customers_cannot_upload(http: httpx.AsyncClient, server: Server, book_id: str) -> None:
    anon = GraphQLClient(http, server.graphql_url)
    body = await anon.raw(START, input={"audiobookId": book_id, "fileName": "a.mp3", "contentType": "audio/mpeg",
                                        "sizeBytes": 1000})  # fmt: skip
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- inline uploads, play order and deletion ------------------------------------------------------


async def test_inline_upload_with_its_cap(
    server: Server, admin: GraphQLClient, book_id: str, tone: Path, tone_data: bytes
) -> None:
    assert len(tone_data) > INLINE_CAP
    refused = (await admin.upload(INLINE, {"audiobookId": book_id}, "file", tone, "audio/wav"))["data"]
    assert [e["code"] for e in refused["uploadAudioFile"]["errors"]] == ["FILE_TOO_LARGE"]
    assert "startUpload" in refused["uploadAudioFile"]["errors"][0]["message"]
    assert book_objects(server, book_id) == []

    accepted = (await admin.upload(INLINE, {"audiobookId": book_id}, "file", RIVER, "audio/mpeg"))["data"]
    assert accepted["uploadAudioFile"]["errors"] == []
    assert accepted["uploadAudioFile"]["audioFile"]["sizeBytes"] == RIVER.stat().st_size
    assert len(book_objects(server, book_id)) == 1


async def test_reorder_and_delete(
    server: Server,
    admin: GraphQLClient,
    book_id: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = []
    for source in (RIVER, LIGHTHOUSE, LIBRARY):
        uploaded = (await admin.upload(INLINE, {"audiobookId": book_id}, "file", source, "audio/mpeg"))["data"]
        assert uploaded["uploadAudioFile"]["errors"] == []
        ids.append(uploaded["uploadAudioFile"]["audioFile"]["id"])
    river, lighthouse, library = ids

    other_book = (await admin(CREATE_BOOK, input={"title": "Other", "priceCents": 100}))["createAudiobook"]
    stranger = await admin.upload(INLINE, {"audiobookId": other_book["audiobook"]["id"]}, "file", RIVER, "audio/mpeg")
    foreign = stranger["data"]["uploadAudioFile"]["audioFile"]["id"]
    for wrong in ([library, river], [library, river, river, lighthouse], [library, river, foreign],
                  [library, river, lighthouse, foreign], []):  # fmt: skip
        refused = (await admin(REORDER, id=book_id, fileIds=wrong))["reorderAudioFiles"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "fileIds")], wrong
    assert [f["id"] for f in await files(admin, book_id)] == [river, lighthouse, library]

    reordered = (await admin(REORDER, id=book_id, fileIds=[library, river, lighthouse]))["reorderAudioFiles"]
    assert reordered["errors"] == []
    expected = [(library, 0, "library.mp3"), (river, 1, "river.mp3"), (lighthouse, 2, "lighthouse.mp3")]
    assert [(f["id"], f["position"], f["fileName"]) for f in reordered["audiobook"]["files"]] == expected

    async with sessions() as session:  # the job the uploads queued is run by nobody here: mark it done
        await session.execute(
            update(Job).where(col(Job.audiobook_id) == from_global_id(book_id)[1]).values(status=JobStatus.SUCCEEDED)
        )
        await session.commit()
    before = await files(admin, book_id)
    assert len(book_objects(server, book_id)) == 3
    deleted = (await admin(DELETE, id=river))["deleteAudioFile"]
    assert deleted["errors"] == []
    remaining = deleted["audiobook"]["files"]
    assert [(f["id"], f["position"]) for f in remaining] == [(library, 0), (lighthouse, 1)]
    kept = [f for f in before if f["id"] != river]
    assert deleted["audiobook"]["durationSeconds"] == pytest.approx(sum(f["durationSeconds"] for f in kept))
    assert len(book_objects(server, book_id)) == 2, "the deleted file's object is gone"
    async with sessions() as session:  # the transcript is queued to be stitched again without it
        statuses = list(
            await session.scalars(select(Job.status).where(col(Job.audiobook_id) == from_global_id(book_id)[1]))
        )
    assert sorted(statuses) == [JobStatus.QUEUED, JobStatus.SUCCEEDED]

    missing = (await admin(DELETE, id=river))["deleteAudioFile"]
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]


# --- a large file streams through a server whose memory stays flat --------------------------------

BIG = 400 * 1024 * 1024 + 44  # ~3.6 hours of 16 kHz mono PCM
RSS_GROWTH_LIMIT = 100 * 1024 * 1024


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


async def test_large_upload_keeps_server_memory_flat(
    server: Server, http: httpx.AsyncClient, admin: GraphQLClient, book_id: str, tone_data: bytes
) -> None:
    # warm up the code paths (PyAV, the route, the probe) so their one-off cost is not counted
    warm = tone_data
    warm_upload = await start_upload(admin, book_id, "warm.wav", len(warm), "audio/wav")
    assert (await resumable.upload(http, warm_upload["url"], resumable.bytes_source(warm), len(warm))).done
    assert (await admin(COMPLETE, id=warm_upload["id"]))["completeUpload"]["errors"] == []

    source = wav_source(BIG)
    crc = 0
    md5 = hashlib.md5()
    for offset in range(0, BIG, 8 * 1024 * 1024):
        piece = source(offset, min(8 * 1024 * 1024, BIG - offset))
        crc = google_crc32c.extend(crc, piece)
        md5.update(piece)
    upload = await start_upload(admin, book_id, "long.wav", BIG, "audio/wav", md5=md5.hexdigest(), crc32c=f"{crc:08x}")

    pid = server.process.pid
    baseline = rss(pid)
    samples = [baseline]
    done = await resumable.upload(
        http, upload["url"], source, BIG, chunk_size=upload["chunkSize"], after_chunk=lambda _: samples.append(rss(pid))
    )
    assert done.done and done.resource is not None and done.resource["size"] == str(BIG)
    result = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
    samples.append(rss(pid))
    assert result["errors"] == []
    assert result["audioFile"]["sizeBytes"] == BIG
    assert result["audioFile"]["durationSeconds"] == pytest.approx((BIG - 44) / 32000)

    growth = max(samples) - baseline
    print(f"server RSS {baseline / 2**20:.0f} MiB before, peak +{growth / 2**20:.1f} MiB over {len(samples)} samples")
    assert growth < RSS_GROWTH_LIMIT, [s // 2**20 for s in samples]

    deleted = (await admin(DELETE, id=result["audioFile"]["id"]))["deleteAudioFile"]  # free the disk
    assert deleted["errors"] == []
