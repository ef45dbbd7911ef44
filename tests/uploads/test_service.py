"""services.uploads on real PostgreSQL and Redis, with local storage and GCS (gcp-storage-emulator).

Each test commits through `session_scope`, like a mutation, so the after-commit work (deleting
refused bytes, enqueueing transcription) really runs.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import google_crc32c
import httpx
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity import tasks
from audiocity.db import session_scope
from audiocity.models import Audiobook, AudioFile, Job, JobStatus, UploadSession, UploadStatus, User, utcnow
from audiocity.services import audio_files, uploads
from audiocity.services.audio_files import DEFAULT_LIMITS
from audiocity.services.errors import ErrorCode, ServiceError
from audiocity.storage import Storage
from audiocity.storage.gcs import GCSStorage
from audiocity.storage.local import LocalStorage
from tests.conftest import FIXTURES
from tests.fakes.recording import RecordingPublisher, queued_messages
from tests.fixtures.audio import tone_file, truncated_copy
from tests.storage.gcs_emulator import gcs_emulator
from tests.uploads import resumable
from tests.uploads.conftest import stored_files

SPEECH = FIXTURES / "speech"
RIVER, LIGHTHOUSE = SPEECH / "river.mp3", SPEECH / "lighthouse.mp3"
BUCKET = "audiocity-uploads-test"


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """35 s of 16 kHz PCM: about 1.1 MB, so five resumable chunks."""
    return tone_file(tmp_path_factory.mktemp("tone") / "tone.wav", 35).read_bytes()


@pytest.fixture(scope="module")
def gcs() -> Iterator[GCSStorage]:
    with gcs_emulator(BUCKET):
        yield GCSStorage(BUCKET, "uploads-test")


def request_for(book: Audiobook, data: bytes, name: str = "part.mp3", **changes: object) -> uploads.UploadRequest:
    request = uploads.UploadRequest(
        audiobook_id=book.id, file_name=name, content_type="audio/mpeg", size_bytes=len(data)
    )
    return replace(request, **changes)  # type: ignore[arg-type]


async def start(
    sessions: async_sessionmaker[AsyncSession],
    storage: Storage,
    request: uploads.UploadRequest,
    user: User,
    **options: object,
) -> uploads.StartedUpload:
    async with session_scope(sessions) as session:
        return await uploads.start_upload(session, storage, request, user_id=user.id, **options)  # type: ignore[arg-type]


async def send(storage: Storage, started: uploads.StartedUpload, data: bytes) -> None:
    """Send the bytes the way a client would: resumable chunks to the target URL (local: the same code in-process)."""
    if isinstance(storage, LocalStorage):
        await storage.write_chunk(
            started.upload.storage_key, size=started.upload.size_bytes, start=0, length=len(data), body=one(data)
        )
        return
    async with httpx.AsyncClient(timeout=30) as http:
        done = await resumable.upload(http, started.target.url, resumable.bytes_source(data), len(data))
    assert done.done


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def complete(
    sessions: async_sessionmaker[AsyncSession],
    storage: Storage,
    publisher: RecordingPublisher,
    upload_id: uuid.UUID,
    user: User,
    **options: object,
) -> uploads.CompletedUpload:
    async with session_scope(sessions) as session:
        return await uploads.complete_upload(
            session,
            storage,
            publisher,
            upload_id=upload_id,
            user_id=user.id,
            **options,  # type: ignore[arg-type]
        )


async def book_files(sessions: async_sessionmaker[AsyncSession], book_id: uuid.UUID) -> list[AudioFile]:
    async with sessions() as session:
        return await audio_files.files_of_book(session, book_id)


async def upload_row(sessions: async_sessionmaker[AsyncSession], upload_id: uuid.UUID) -> UploadSession:
    async with sessions() as session:
        row = await session.get(UploadSession, upload_id)
    assert row is not None
    return row


# --- the happy path ------------------------------------------------------------------------------


async def test_complete_appends_the_file_and_queues_transcription(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
) -> None:
    async with session_scope(sessions) as session:  # a file is already there: the upload goes after it
        first, first_job = await audio_files.add_audio_file(
            session, local_storage, publisher, audiobook_id=book.id, file_name="river.mp3",
            content_type="audio/mpeg", source=RIVER,
        )  # fmt: skip
    data = LIGHTHOUSE.read_bytes()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    crc = f"{google_crc32c.value(data):08x}"
    started = await start(
        sessions, local_storage, request_for(book, data, "02 Lighthouse.mp3", md5=md5, crc32c=crc), admin
    )
    upload = started.upload
    assert upload.status is UploadStatus.PENDING
    assert upload.storage_key == f"audiobooks/{book.id}/files/{upload.id}.mp3"
    assert (upload.md5_hex, upload.crc32c) == (hashlib.md5(data).hexdigest(), google_crc32c.value(data))
    assert started.target.url.startswith(f"http://testserver/uploads/{upload.storage_key}?")
    assert upload.expires_at == started.target.expires_at

    await send(local_storage, started, data)
    done = await complete(sessions, local_storage, publisher, upload.id, admin)

    assert done.error is None and done.audio_file is not None and done.job is not None
    audio_file = done.audio_file
    assert audio_file.id == upload.id
    assert (audio_file.position, audio_file.file_name, audio_file.size_bytes) == (1, "02 Lighthouse.mp3", len(data))
    assert (audio_file.container, audio_file.codec, audio_file.content_type) == ("mp3", "mp3", "audio/mpeg")
    assert audio_file.duration_seconds == pytest.approx(17.5, abs=3)
    assert [f.id for f in await book_files(sessions, book.id)] == [first.id, audio_file.id]
    async with sessions() as session:
        stored_book = await session.get(Audiobook, book.id)
        assert stored_book is not None
        assert stored_book.duration_seconds == pytest.approx(first.duration_seconds + audio_file.duration_seconds)
    row = await upload_row(sessions, upload.id)
    assert (row.status, row.audio_file_id) == (UploadStatus.COMPLETED, audio_file.id)
    assert done.job.id == first_job.id, "the job still waiting covers the new file too"
    assert [m.args for m in queued_messages(broker)] == [(str(first_job.id),)]
    assert await local_storage.stat(upload.storage_key) is not None

    # completing again (the reply was lost) gives the same file and queues nothing more
    again = await complete(sessions, local_storage, publisher, upload.id, admin)
    assert again.audio_file is not None and again.audio_file.id == audio_file.id
    assert len(await book_files(sessions, book.id)) == 2
    assert len(queued_messages(broker)) == 1


async def test_gcs_upload_interrupted_resumed_completed_read_and_deleted(
    sessions: async_sessionmaker[AsyncSession],
    gcs: GCSStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
    tone: bytes,
) -> None:
    data = tone
    assert len(data) > 4 * resumable.QUANTUM, "several chunks"
    started = await start(sessions, gcs, request_for(book, data, "tone.wav", content_type="audio/wav"), admin)
    url = started.target.url
    assert url.startswith(gcs.client.api_endpoint) and "upload_id=" in url
    source = resumable.bytes_source(data)

    async with httpx.AsyncClient(timeout=30) as first:  # one chunk, then the client goes away
        cut = await resumable.upload(first, url, source, len(data), stop_at=resumable.QUANTUM)
    async with sessions() as session:
        with pytest.raises(ServiceError) as early:
            await uploads.complete_upload(session, gcs, publisher, upload_id=started.upload.id, user_id=admin.id)
    assert early.value.code is ErrorCode.UPLOAD_INCOMPLETE

    async with httpx.AsyncClient(timeout=30) as second:
        resumed = await resumable.status(second, url, len(data))
        assert resumed.offset == cut.offset == resumable.QUANTUM
        done = await resumable.upload(second, url, source, len(data), offset=resumed.offset)
    assert done.done

    result = await complete(sessions, gcs, publisher, started.upload.id, admin)
    assert result.error is None and result.audio_file is not None
    key = result.audio_file.storage_key
    assert (result.audio_file.size_bytes, result.audio_file.codec) == (len(data), "pcm_s16le")
    assert result.audio_file.duration_seconds == pytest.approx(35, abs=0.1)
    assert result.audio_file.md5_hex == hashlib.md5(data).hexdigest()
    assert b"".join([b async for b in gcs.read(key, 300_000, 700_000)]) == data[300_000:700_001]

    async with session_scope(sessions) as session:
        await audio_files.delete_audio_file(session, gcs, publisher, result.audio_file.id)
    assert await gcs.stat(key) is None
    assert await book_files(sessions, book.id) == []


# --- refused uploads: a clear error, no AudioFile, no bytes left ----------------------------------


def text_renamed_mp3(tmp_path: Path) -> bytes:
    return ("These are not the sounds you are looking for.\n" * 2000).encode()


def truncated_mp3(tmp_path: Path) -> bytes:
    return truncated_copy(RIVER, tmp_path / "river-cut.mp3", fraction=0.5).read_bytes()


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("text renamed .mp3", ErrorCode.NOT_AUDIO, "no decodable audio"),
        ("truncated mp3", ErrorCode.NOT_AUDIO, "looks truncated"),
        ("wrong md5", ErrorCode.CHECKSUM_MISMATCH, "MD5"),
        ("wrong crc32c", ErrorCode.CHECKSUM_MISMATCH, "CRC32C"),
        ("codec not allowed", ErrorCode.UNSUPPORTED_FORMAT, "codec (mp3)"),
        ("book full", ErrorCode.TOO_MANY_FILES, "at most 1"),
    ],
)
async def test_refused_upload_leaves_nothing(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
    tmp_path: Path,
    case: str,
    code: ErrorCode,
    words: str,
) -> None:
    data = {"text renamed .mp3": text_renamed_mp3, "truncated mp3": truncated_mp3}.get(
        case, lambda _: RIVER.read_bytes()
    )(tmp_path)
    changes: dict[str, object] = {
        "wrong md5": {"md5": hashlib.md5(b"other").hexdigest()},
        "wrong crc32c": {"crc32c": base64.b64encode((123).to_bytes(4, "big")).decode()},
    }.get(case, {})
    limits = DEFAULT_LIMITS
    if case == "codec not allowed":
        limits = replace(DEFAULT_LIMITS, codecs=frozenset({"flac"}))
    if case == "book full":
        limits = replace(DEFAULT_LIMITS, max_files_per_book=1)
    started = await start(sessions, local_storage, request_for(book, data, "notes.mp3", **changes), admin)
    await send(local_storage, started, data)
    if case == "book full":  # another file got in first
        async with session_scope(sessions) as session:
            await audio_files.add_audio_file(
                session, local_storage, publisher, audiobook_id=book.id, file_name="first.mp3",
                content_type="audio/mpeg", source=LIGHTHOUSE,
            )  # fmt: skip
        broker.flush(tasks.QUEUE)
    assert await local_storage.stat(started.upload.storage_key) is not None

    result = await complete(sessions, local_storage, publisher, started.upload.id, admin, limits=limits)

    assert result.audio_file is None and result.error is not None
    assert result.error.code is code, result.error.message
    assert words in result.error.message
    assert result.error.field == "uploadId"
    if case.startswith(("text", "truncated")):
        assert "'notes.mp3'" in result.error.message, "the uploader's own file name, not a storage path"
    assert await local_storage.stat(started.upload.storage_key) is None
    assert not local_storage.partial_path(started.upload.storage_key).exists()
    assert [f.file_name for f in await book_files(sessions, book.id)] == (["first.mp3"] if case == "book full" else [])
    assert queued_messages(broker) == []
    row = await upload_row(sessions, started.upload.id)
    assert (row.status, row.error, row.audio_file_id) == (UploadStatus.FAILED, result.error.message, None)

    with pytest.raises(ServiceError) as again:
        await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert again.value.code is ErrorCode.UPLOAD_CLOSED


async def test_wrong_declared_size_on_gcs(
    sessions: async_sessionmaker[AsyncSession],
    gcs: GCSStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
) -> None:
    """The declared size is checked at the end whatever the backend enforced on the way."""
    data = RIVER.read_bytes()
    started = await start(sessions, gcs, request_for(book, data, size_bytes=len(data) - 1000), admin)
    async with httpx.AsyncClient(timeout=30) as http:  # the emulator does not hold the client to the size
        done = await resumable.upload(http, started.target.url, resumable.bytes_source(data), len(data))
    assert done.done and await gcs.stat(started.upload.storage_key) is not None

    result = await complete(sessions, gcs, publisher, started.upload.id, admin)
    assert result.error is not None and result.error.code is ErrorCode.SIZE_MISMATCH
    assert f"declared as {len(data) - 1000} bytes but {len(data)} bytes arrived" in result.error.message
    assert await gcs.stat(started.upload.storage_key) is None
    assert await book_files(sessions, book.id) == []
    assert queued_messages(broker) == []


async def test_someone_elses_upload(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
    other_admin: User,
) -> None:
    data = RIVER.read_bytes()
    started = await start(sessions, local_storage, request_for(book, data), admin)
    await send(local_storage, started, data)

    for attempt in (complete(sessions, local_storage, publisher, started.upload.id, other_admin),):
        with pytest.raises(ServiceError) as exc:
            await attempt
        assert exc.value.code is ErrorCode.UPLOAD_NOT_OWNED
        assert exc.value.field == "uploadId"
    with pytest.raises(ServiceError) as cancel:
        async with session_scope(sessions) as session:
            await uploads.cancel_upload(session, local_storage, upload_id=started.upload.id, user_id=other_admin.id)
    assert cancel.value.code is ErrorCode.UPLOAD_NOT_OWNED
    assert await book_files(sessions, book.id) == []
    assert queued_messages(broker) == []
    assert (await upload_row(sessions, started.upload.id)).status is UploadStatus.PENDING
    assert await local_storage.stat(started.upload.storage_key) is not None, "the owner's upload is untouched"

    done = await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert done.audio_file is not None


async def test_expired_upload(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
) -> None:
    data = RIVER.read_bytes()
    started = await start(sessions, local_storage, request_for(book, data), admin, ttl_seconds=60)
    await send(local_storage, started, data)
    later = utcnow() + timedelta(seconds=61)

    result = await complete(sessions, local_storage, publisher, started.upload.id, admin, now=later)
    assert result.error is not None and result.error.code is ErrorCode.UPLOAD_EXPIRED
    assert "expired" in result.error.message
    assert stored_files(local_storage) == []
    assert await book_files(sessions, book.id) == []
    assert queued_messages(broker) == []
    assert (await upload_row(sessions, started.upload.id)).status is UploadStatus.EXPIRED
    with pytest.raises(ServiceError) as again:
        await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert again.value.code is ErrorCode.UPLOAD_EXPIRED


async def test_incomplete_upload_can_be_finished_later(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
    tone: bytes,
) -> None:
    data = tone
    started = await start(sessions, local_storage, request_for(book, data, "tone.wav"), admin)
    key, size = started.upload.storage_key, len(data)
    await local_storage.write_chunk(
        key, size=size, start=0, length=resumable.QUANTUM, body=one(data[: resumable.QUANTUM])
    )

    with pytest.raises(ServiceError) as exc:
        await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert exc.value.code is ErrorCode.UPLOAD_INCOMPLETE
    assert (await upload_row(sessions, started.upload.id)).status is UploadStatus.PENDING

    rest = data[resumable.QUANTUM :]
    await local_storage.write_chunk(key, size=size, start=resumable.QUANTUM, length=len(rest), body=one(rest))
    assert (await complete(sessions, local_storage, publisher, started.upload.id, admin)).audio_file is not None


async def test_cancel_upload(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    book: Audiobook,
    admin: User,
    tone: bytes,
) -> None:
    data = tone
    started = await start(sessions, local_storage, request_for(book, data), admin)
    await local_storage.write_chunk(
        started.upload.storage_key, size=len(data), start=0, length=resumable.QUANTUM,
        body=one(data[: resumable.QUANTUM]),
    )  # fmt: skip
    async with session_scope(sessions) as session:
        await uploads.cancel_upload(session, local_storage, upload_id=started.upload.id, user_id=admin.id)
    assert stored_files(local_storage) == []
    assert (await upload_row(sessions, started.upload.id)).status is UploadStatus.CANCELLED
    with pytest.raises(ServiceError) as exc:
        await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert exc.value.code is ErrorCode.UPLOAD_CLOSED and "cancelled" in exc.value.message


# --- startUpload checks what it can before any byte is sent ---------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"content_type": "text/plain"}, ErrorCode.NOT_AUDIO, "contentType"),
        ({"size_bytes": 0}, ErrorCode.INVALID, "sizeBytes"),
        ({"size_bytes": DEFAULT_LIMITS.max_file_bytes + 1}, ErrorCode.FILE_TOO_LARGE, "sizeBytes"),
        ({"file_name": "  "}, ErrorCode.INVALID, "fileName"),
        ({"file_name": "dir/.."}, ErrorCode.INVALID, "fileName"),
        ({"md5": "not-a-checksum"}, ErrorCode.INVALID, "md5"),
        ({"crc32c": "AAAA"}, ErrorCode.INVALID, "crc32c"),
        ({"audiobook_id": uuid.UUID(int=1)}, ErrorCode.NOT_FOUND, "audiobookId"),
    ],
)
async def test_start_upload_refusals(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    book: Audiobook,
    admin: User,
    changes: dict[str, object],
    code: ErrorCode,
    field: str,
) -> None:
    with pytest.raises(ServiceError) as exc:
        await start(sessions, local_storage, request_for(book, b"x" * 1000, **changes), admin)
    assert (exc.value.code, exc.value.field) == (code, field)
    async with sessions() as session:
        rows = await session.scalars(select(UploadSession).where(col(UploadSession.audiobook_id) == book.id))
        assert list(rows) == []


async def test_pending_uploads_count_towards_the_file_limit(
    sessions: async_sessionmaker[AsyncSession], local_storage: LocalStorage, book: Audiobook, admin: User
) -> None:
    limits = replace(DEFAULT_LIMITS, max_files_per_book=2)
    for _ in range(2):
        await start(sessions, local_storage, request_for(book, b"x" * 1000), admin, limits=limits)
    with pytest.raises(ServiceError) as exc:
        await start(sessions, local_storage, request_for(book, b"x" * 1000), admin, limits=limits)
    assert exc.value.code is ErrorCode.TOO_MANY_FILES


def test_checksums_in_hex_or_base64() -> None:
    digest = hashlib.md5(b"abc").digest()
    assert uploads.parse_md5(digest.hex().upper()) == digest.hex()
    assert uploads.parse_md5(base64.b64encode(digest).decode()) == digest.hex()
    crc = google_crc32c.value(b"abc")
    assert uploads.parse_crc32c(f"{crc:08x}") == crc
    assert uploads.parse_crc32c(base64.b64encode(crc.to_bytes(4, "big")).decode()) == crc
    assert uploads.parse_md5(None) is None and uploads.parse_crc32c("") is None


# --- expiry -----------------------------------------------------------------------------------------


async def test_expire_and_purge(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
    tone: bytes,
) -> None:
    data = tone
    abandoned = await start(sessions, local_storage, request_for(book, data), admin, ttl_seconds=60)
    await local_storage.write_chunk(
        abandoned.upload.storage_key, size=len(data), start=0, length=resumable.QUANTUM,
        body=one(data[: resumable.QUANTUM]),
    )  # fmt: skip
    finished_unclaimed = await start(sessions, local_storage, request_for(book, data), admin, ttl_seconds=60)
    await send(local_storage, finished_unclaimed, data)
    completed = await start(sessions, local_storage, request_for(book, data), admin, ttl_seconds=60)
    await send(local_storage, completed, data)
    assert (await complete(sessions, local_storage, publisher, completed.upload.id, admin)).audio_file is not None
    fresh = await start(sessions, local_storage, request_for(book, data), admin, ttl_seconds=3600)

    later = utcnow() + timedelta(seconds=120)
    async with session_scope(sessions) as session:
        assert await uploads.expire_uploads(session, local_storage, now=later, retention_seconds=3600) >= 2

    statuses = {
        u.upload.id: (await upload_row(sessions, u.upload.id)).status
        for u in (abandoned, finished_unclaimed, completed, fresh)
    }
    assert statuses == {
        abandoned.upload.id: UploadStatus.EXPIRED,
        finished_unclaimed.upload.id: UploadStatus.EXPIRED,
        completed.upload.id: UploadStatus.COMPLETED,
        fresh.upload.id: UploadStatus.PENDING,
    }
    remaining = [p.relative_to(local_storage.root).as_posix() for p in stored_files(local_storage)]
    assert remaining == [completed.upload.storage_key], "expired bytes are gone, the AudioFile's object stays"
    assert len(await book_files(sessions, book.id)) == 1

    # past the retention, closed sessions are purged; a completed one's object still belongs to its file
    much_later = utcnow() + timedelta(seconds=60 + 3600 + 1)
    async with session_scope(sessions) as session:
        await uploads.expire_uploads(session, local_storage, now=much_later, retention_seconds=3600)
    async with sessions() as session:
        for purged in (abandoned, finished_unclaimed, completed):
            assert await session.get(UploadSession, purged.upload.id) is None
        assert (await session.get(UploadSession, fresh.upload.id)) is not None
    assert [p.relative_to(local_storage.root).as_posix() for p in stored_files(local_storage)] == [
        completed.upload.storage_key
    ]


async def test_upload_outlives_its_book_for_cleanup(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    book: Audiobook,
    admin: User,
) -> None:
    """Deleting the book keeps the session (SET NULL), so completing or expiring it still deletes the bytes."""
    data = RIVER.read_bytes()
    started = await start(sessions, local_storage, request_for(book, data), admin)
    await send(local_storage, started, data)
    async with session_scope(sessions) as session:
        stored_book = await session.get(Audiobook, book.id)
        await session.delete(stored_book)
    result = await complete(sessions, local_storage, publisher, started.upload.id, admin)
    assert result.error is not None and result.error.code is ErrorCode.NOT_FOUND
    assert stored_files(local_storage) == []


async def test_the_sweeper_chain(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
) -> None:
    """workers/uploads.py: one lease per interval, the next run sent with a delay, sweeps in batches."""
    import workers.uploads as sweeper  # after the broker is set: importing declares the actor

    broker.client.delete(sweeper.LEASE_KEY)
    assert sweeper.take_lease(broker, 1)
    assert not sweeper.take_lease(broker, 1), "a second chain started meanwhile gives up"
    assert 0 < broker.client.pttl(sweeper.LEASE_KEY) <= 900
    broker.client.delete(sweeper.LEASE_KEY)

    delayed_key = f"audiocity:{tasks.QUEUE}.DQ"
    broker.flush_all()
    sweeper.send(broker, delay_ms=60_000)
    [message_id] = broker.client.lrange(delayed_key, 0, -1)
    data = broker.client.hget(f"{delayed_key}.msgs", message_id)
    assert isinstance(data, bytes) and b'"actor_name":"expire_uploads"' in data and b"eta" in data
    broker.flush_all()

    payload = RIVER.read_bytes()
    started = [
        await start(sessions, local_storage, request_for(book, payload), admin, ttl_seconds=60) for _ in range(3)
    ]
    for upload in started:
        await send(local_storage, upload, payload)
    handled = await sweeper.sweep(sessions, local_storage, now=utcnow() + timedelta(seconds=61), retention_seconds=3600)
    assert handled >= 3
    assert stored_files(local_storage) == []
    for upload in started:
        assert (await upload_row(sessions, upload.upload.id)).status is UploadStatus.EXPIRED


async def test_job_row_is_queued_once_per_book(
    sessions: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    admin: User,
) -> None:
    data = RIVER.read_bytes()
    for _ in range(2):
        started = await start(sessions, local_storage, request_for(book, data), admin)
        await send(local_storage, started, data)
        assert (await complete(sessions, local_storage, publisher, started.upload.id, admin)).audio_file is not None
    async with sessions() as session:
        book_jobs = list(await session.scalars(select(Job).where(col(Job.audiobook_id) == book.id)))
    assert [j.status for j in book_jobs] == [JobStatus.QUEUED]
    assert len(queued_messages(broker)) == 1
