"""services.audio_files: uploads into real local storage, play order, and the transcription queue.

These tests commit through `audiocity.db.session_scope`, because the after-commit hook (enqueue the
job, publish the event) and the on-rollback hook (remove the stored object) only run there. Each test
makes its own book and deletes it afterwards (files and jobs cascade).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity import tasks
from audiocity.db import session_scope
from audiocity.events import audiobook_jobs_channel, job_channel
from audiocity.models import Audiobook, AudioFile, Job, JobStatus, TranscriptStatus
from audiocity.services import audio_files, catalog
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.storage.local import LocalStorage
from tests.conftest import FIXTURES
from tests.factories import make_book
from tests.fakes.recording import RecordingPublisher, queued_messages

SPEECH = FIXTURES / "speech"
RIVER, LIGHTHOUSE, LIBRARY = SPEECH / "river.mp3", SPEECH / "lighthouse.mp3", SPEECH / "library.mp3"


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", "test-secret-" + "x" * 32, "http://testserver")


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def book(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Audiobook]:
    async with session_scope(sessions) as session:
        created = await make_book(session)
    yield created
    async with session_scope(sessions) as session:
        row = await session.get(Audiobook, created.id)
        if row is not None:
            await session.delete(row)


def stored_files(storage: LocalStorage) -> list[Path]:
    return sorted(p for p in storage.root.rglob("*") if p.is_file()) if storage.root.exists() else []


async def read_object(storage: LocalStorage, key: str) -> bytes:
    return b"".join([block async for block in storage.read(key)])


async def upload(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    book_id: uuid.UUID,
    source: Path,
    content_type: str | None = "audio/mpeg",
) -> tuple[AudioFile, Job]:
    async with session_scope(sessions) as session:
        return await audio_files.add_audio_file(
            session,
            storage,
            publisher,
            audiobook_id=book_id,
            file_name=source.name,
            content_type=content_type,
            source=source,
        )


async def positions(sessions: async_sessionmaker[AsyncSession], book_id: uuid.UUID) -> list[tuple[str, int]]:
    async with sessions() as session:
        return [(f.file_name, f.position) for f in await audio_files.files_of_book(session, book_id)]


# --- adding files -------------------------------------------------------------------------------


async def test_add_audio_file_stores_bytes_and_queues_one_job(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    first, job = await upload(sessions, storage, publisher, book.id, RIVER)
    second, job_again = await upload(sessions, storage, publisher, book.id, LIGHTHOUSE, "application/x-junk")

    # two files, appended in play order, with the exact bytes in storage
    assert (first.position, second.position) == (0, 1)
    for audio_file, source in ((first, RIVER), (second, LIGHTHOUSE)):
        data = source.read_bytes()
        assert await read_object(storage, audio_file.storage_key) == data
        assert audio_file.size_bytes == len(data)
        assert audio_file.md5_hex == hashlib.md5(data).hexdigest()
        assert audio_file.storage_key.startswith(f"audiobooks/{book.id}/files/")
        assert audio_file.storage_key.endswith(".mp3")
        assert (audio_file.container, audio_file.codec) == ("mp3", "mp3")
        assert audio_file.duration_seconds == pytest.approx(17.5, abs=2.0)
    assert first.content_type == "audio/mpeg"
    assert second.content_type == "audio/mp3", "a non-audio content type is replaced by the probed one"
    assert len(stored_files(storage)) == 2

    # the book's duration is the sum, and transcription is pending
    async with sessions() as session:
        stored = await session.get(Audiobook, book.id)
        assert stored is not None
        assert stored.duration_seconds == pytest.approx(first.duration_seconds + second.duration_seconds)
        assert stored.transcript_status is TranscriptStatus.PENDING
        book_jobs = list((await session.execute(select(Job).where(col(Job.audiobook_id) == book.id))).scalars())

    # ONE queued job covers both uploads: one row, one message, one event
    assert job_again.id == job.id
    assert [(j.id, j.status) for j in book_jobs] == [(job.id, JobStatus.QUEUED)]
    messages = queued_messages(broker)
    assert len(messages) == 1
    assert messages[0].actor_name == tasks.TRANSCRIBE_AUDIOBOOK
    assert list(messages[0].args) == [str(job.id)]
    assert len(publisher.calls) == 1
    channels, payload = publisher.calls[0]
    assert channels == [job_channel(job.id), audiobook_jobs_channel(book.id)]
    assert payload["id"] == str(job.id) and payload["status"] == "QUEUED"


async def test_add_audio_file_strips_directories_from_the_name(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    async with session_scope(sessions) as session:
        audio_file, _ = await audio_files.add_audio_file(
            session,
            storage,
            publisher,
            audiobook_id=book.id,
            file_name="C:\\Users\\me\\..\\Chapter 1.MP3",
            content_type=None,
            source=RIVER,
        )
    assert audio_file.file_name == "Chapter 1.MP3"
    assert audio_file.storage_key == f"audiobooks/{book.id}/files/{audio_file.id}.mp3"


async def test_not_audio_leaves_nothing_behind(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    tmp_path: Path,
) -> None:
    text_file = tmp_path / "notes.mp3"
    text_file.write_text("These are not the sounds you are looking for.\n" * 100)

    with pytest.raises(ServiceError) as exc:
        async with session_scope(sessions) as session:
            await audio_files.add_audio_file(
                session,
                storage,
                publisher,
                audiobook_id=book.id,
                file_name=text_file.name,
                content_type="audio/mpeg",
                source=text_file,
            )

    assert exc.value.code is ErrorCode.NOT_AUDIO
    assert exc.value.field == "file"
    assert stored_files(storage) == []
    assert await positions(sessions, book.id) == []
    assert queued_messages(broker) == []
    assert publisher.calls == []


async def test_a_failure_later_in_the_unit_of_work_removes_the_stored_object(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    with pytest.raises(RuntimeError):
        async with session_scope(sessions) as session:
            audio_file, _ = await audio_files.add_audio_file(
                session,
                storage,
                publisher,
                audiobook_id=book.id,
                file_name="river.mp3",
                content_type="audio/mpeg",
                source=RIVER,
            )
            assert await storage.stat(audio_file.storage_key) is not None
            raise RuntimeError("something after the upload failed")

    assert stored_files(storage) == []
    assert await positions(sessions, book.id) == []
    assert queued_messages(broker) == [], "nothing is enqueued for a rolled-back upload"
    assert publisher.calls == []


async def test_add_audio_file_to_an_unknown_book(
    sessions: async_sessionmaker[AsyncSession], storage: LocalStorage, publisher: RecordingPublisher
) -> None:
    with pytest.raises(NotFound) as exc:
        await upload(sessions, storage, publisher, uuid.uuid4(), RIVER)
    assert exc.value.field == "audiobookId"
    assert stored_files(storage) == []


# --- reordering and deleting --------------------------------------------------------------------


async def three_files(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    book_id: uuid.UUID,
) -> list[AudioFile]:
    return [(await upload(sessions, storage, publisher, book_id, s))[0] for s in (RIVER, LIGHTHOUSE, LIBRARY)]


async def test_reorder_with_exactly_the_books_files(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    river, lighthouse, library = await three_files(sessions, storage, publisher, book.id)

    async with session_scope(sessions) as session:  # the commit checks the deferred unique positions
        ordered = await audio_files.reorder_audio_files(
            session, publisher, book.id, [library.id, river.id, lighthouse.id]
        )

    assert [(f.id, f.position) for f in ordered] == [(library.id, 0), (river.id, 1), (lighthouse.id, 2)]
    assert await positions(sessions, book.id) == [("library.mp3", 0), ("river.mp3", 1), ("lighthouse.mp3", 2)]
    # the job queued by the uploads is still waiting, so it is reused: still one message
    assert len(queued_messages(broker)) == 1


@pytest.mark.parametrize("case", ["missing", "duplicate", "unknown", "extra", "empty"])
async def test_reorder_with_wrong_ids_is_invalid(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
    case: str,
) -> None:
    a, b, c = (f.id for f in await three_files(sessions, storage, publisher, book.id))
    file_ids = {
        "missing": [c, a],
        "duplicate": [c, a, a, b],
        "unknown": [c, a, uuid.uuid4()],
        "extra": [c, a, b, uuid.uuid4()],
        "empty": [],
    }[case]

    with pytest.raises(ServiceError) as exc:
        async with session_scope(sessions) as session:
            await audio_files.reorder_audio_files(session, publisher, book.id, file_ids)

    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "fileIds"
    assert await positions(sessions, book.id) == [("river.mp3", 0), ("lighthouse.mp3", 1), ("library.mp3", 2)]


async def test_reorder_an_unknown_book(
    sessions: async_sessionmaker[AsyncSession], publisher: RecordingPublisher
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await audio_files.reorder_audio_files(session, publisher, uuid.uuid4(), [])


async def test_delete_closes_the_gap_and_fixes_the_duration(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    river, lighthouse, library = await three_files(sessions, storage, publisher, book.id)

    async with session_scope(sessions) as session:
        updated = await audio_files.delete_audio_file(session, storage, publisher, lighthouse.id)
        # the object is removed only after the commit
        assert await storage.stat(lighthouse.storage_key) is not None

    assert await positions(sessions, book.id) == [("river.mp3", 0), ("library.mp3", 1)]
    assert updated.duration_seconds == pytest.approx(river.duration_seconds + library.duration_seconds)
    async with sessions() as session:
        stored = await session.get(Audiobook, book.id)
        assert stored is not None
        assert stored.duration_seconds == pytest.approx(river.duration_seconds + library.duration_seconds)
        assert await session.get(AudioFile, lighthouse.id) is None
    assert await storage.stat(lighthouse.storage_key) is None
    assert await storage.stat(river.storage_key) is not None
    assert await storage.stat(library.storage_key) is not None


async def test_delete_the_last_file(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    publisher: RecordingPublisher,
    broker: RedisBroker,
    book: Audiobook,
) -> None:
    only, _ = await upload(sessions, storage, publisher, book.id, RIVER)

    async with session_scope(sessions) as session:
        updated = await audio_files.delete_audio_file(session, storage, publisher, only.id)

    assert updated.duration_seconds == 0
    assert await positions(sessions, book.id) == []
    assert stored_files(storage) == []
    async with sessions() as session:
        with pytest.raises(ServiceError) as exc:
            await catalog.publish_audiobook(session, book.id, True)
        assert exc.value.code is ErrorCode.NO_AUDIO_FILES


async def test_delete_an_unknown_file(
    sessions: async_sessionmaker[AsyncSession], storage: LocalStorage, publisher: RecordingPublisher
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await audio_files.delete_audio_file(session, storage, publisher, uuid.uuid4())


async def test_start_transcription_without_files(
    sessions: async_sessionmaker[AsyncSession], publisher: RecordingPublisher, book: Audiobook
) -> None:
    async with sessions() as session:
        with pytest.raises(ServiceError) as exc:
            await audio_files.start_transcription(session, publisher, book.id, force=False)
        assert exc.value.code is ErrorCode.NO_AUDIO_FILES
