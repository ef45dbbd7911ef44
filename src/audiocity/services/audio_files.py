"""Adding, ordering and removing a book's audio files."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity import jobs
from audiocity.audio import NotAudioError, probe
from audiocity.db import after_commit, on_rollback
from audiocity.events import Publishes, audiobook_jobs_channel, job_channel
from audiocity.models import Audiobook, AudioFile, Job, JobStatus, TranscriptChunk
from audiocity.services import jobs as job_service
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.storage import Storage

READ_BLOCK = 1024 * 1024


async def read_file(path: Path, block: int = READ_BLOCK) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while data := await asyncio.to_thread(fh.read, block):
            yield data


def storage_key(audiobook_id: uuid.UUID, file_id: uuid.UUID, file_name: str) -> str:
    suffix = PurePosixPath(file_name).suffix.lower()[:10]
    return f"audiobooks/{audiobook_id}/files/{file_id}{suffix}"


async def queue_transcription(session: AsyncSession, events: Publishes, audiobook_id: uuid.UUID) -> Job:
    """Queue (or reuse the queued) job; the message and event go out only after the commit."""
    job, is_new = await job_service.queue_transcription(session, audiobook_id)
    if is_new:
        payload = job_service.job_payload(job)

        async def send() -> None:
            jobs.enqueue(jobs.TRANSCRIBE_AUDIOBOOK, str(job.id))
            await events.publish([job_channel(job.id), audiobook_jobs_channel(audiobook_id)], payload)

        after_commit(session, send)
    return job


async def add_audio_file(
    session: AsyncSession,
    storage: Storage,
    events: Publishes,
    *,
    audiobook_id: uuid.UUID,
    file_name: str,
    content_type: str | None,
    source: Path,
) -> tuple[AudioFile, Job]:
    """Probe, store and append the file at the end of the book's play order, then queue transcription."""
    book = await session.get(Audiobook, audiobook_id, with_for_update=True)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    name = PurePosixPath(file_name.replace("\\", "/")).name.strip()
    if not name or len(name) > 255:
        raise ServiceError(ErrorCode.INVALID, "A file name of 1 to 255 characters is required.", "file")
    try:
        info = await asyncio.to_thread(probe, source)
    except NotAudioError as exc:
        raise ServiceError(ErrorCode.NOT_AUDIO, str(exc), "file") from exc

    file_id = uuid.uuid4()
    key = storage_key(audiobook_id, file_id, name)
    mime = content_type if content_type and content_type.startswith("audio/") else f"audio/{info.container}"

    async def remove_object() -> None:
        await storage.delete(key)

    on_rollback(session, remove_object)
    stored = await storage.write(key, read_file(source), mime)

    position = await session.scalar(
        select(func.count()).select_from(AudioFile).where(AudioFile.audiobook_id == audiobook_id)  # type: ignore[arg-type]
    )
    audio_file = AudioFile(
        id=file_id,
        audiobook_id=audiobook_id,
        position=int(position or 0),
        file_name=name,
        content_type=mime,
        size_bytes=stored.size,
        duration_seconds=info.duration_seconds,
        container=info.container,
        codec=info.codec,
        bitrate=info.bitrate,
        md5_hex=stored.md5_hex,
        storage_key=key,
    )
    session.add(audio_file)
    book.duration_seconds = (book.duration_seconds or 0) + info.duration_seconds
    await session.flush()
    job = await queue_transcription(session, events, audiobook_id)
    return audio_file, job


async def files_of_book(session: AsyncSession, audiobook_id: uuid.UUID) -> list[AudioFile]:
    rows = await session.execute(
        select(AudioFile).where(AudioFile.audiobook_id == audiobook_id).order_by(AudioFile.position)  # type: ignore[arg-type]
    )
    return list(rows.scalars())


async def reorder_audio_files(
    session: AsyncSession, events: Publishes, audiobook_id: uuid.UUID, file_ids: list[uuid.UUID]
) -> list[AudioFile]:
    book = await session.get(Audiobook, audiobook_id, with_for_update=True)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    files = await files_of_book(session, audiobook_id)
    if len(file_ids) != len(set(file_ids)) or set(file_ids) != {f.id for f in files}:
        raise ServiceError(
            ErrorCode.INVALID, "fileIds must list each of the book's audio files exactly once.", "fileIds"
        )
    by_id = {f.id: f for f in files}
    for position, file_id in enumerate(file_ids):
        by_id[file_id].position = position
    await session.flush()
    if files:
        await queue_transcription(session, events, audiobook_id)
    return [by_id[i] for i in file_ids]


async def delete_audio_file(
    session: AsyncSession, storage: Storage, events: Publishes, file_id: uuid.UUID
) -> Audiobook:
    audio_file = await session.get(AudioFile, file_id)
    if audio_file is None:
        raise NotFound("Audio file")
    book = await session.get(Audiobook, audio_file.audiobook_id, with_for_update=True)
    assert book is not None
    key = audio_file.storage_key
    await session.delete(audio_file)
    await session.flush()
    remaining = await files_of_book(session, book.id)
    for position, f in enumerate(remaining):
        f.position = position
    book.duration_seconds = sum(f.duration_seconds for f in remaining)
    await session.flush()

    async def remove_object() -> None:
        await storage.delete(key)

    after_commit(session, remove_object)
    if remaining:
        await queue_transcription(session, events, book.id)
    return book


async def start_transcription(session: AsyncSession, events: Publishes, audiobook_id: uuid.UUID, *, force: bool) -> Job:
    """Queue the book again. Finished chunks are kept unless `force`, which transcribes from scratch."""
    files = await files_of_book(session, audiobook_id)
    if not files:
        raise ServiceError(ErrorCode.NO_AUDIO_FILES, "The audiobook has no audio files.", "audiobookId")
    running = await session.scalar(
        select(Job.id).where(Job.audiobook_id == audiobook_id, Job.status == JobStatus.RUNNING)  # type: ignore[arg-type]
    )
    if running is not None and force:
        raise ServiceError(ErrorCode.JOB_RUNNING, "A job is running for this audiobook.", "audiobookId")
    if force:
        await session.execute(
            delete(TranscriptChunk).where(TranscriptChunk.audio_file_id.in_([f.id for f in files]))  # type: ignore[attr-defined]
        )
    return await queue_transcription(session, events, audiobook_id)
