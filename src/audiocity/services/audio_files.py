"""Adding, ordering and removing a book's audio files.

Both ways in end in `attach_stored_file`: `store_audio_file` (a small file sent through the API,
streamed to storage) and `services.uploads.complete_upload` (a large one the client sent straight to
storage). It checks the stored object, probes it with PyAV and only then appends the `AudioFile`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.audio import AudioInfo, NotAudioError, probe
from audiocity.config import Settings
from audiocity.db import after_commit, on_rollback
from audiocity.events import Publishes
from audiocity.models import Audiobook, AudioFile, Job, JobStatus, TranscriptChunk
from audiocity.services import jobs as job_service
from audiocity.services import outbox, storage_keys
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.storage import ObjectInfo, Storage

READ_BLOCK = 1024 * 1024
MAX_NAME_LENGTH = 255

# ffmpeg names some demuxers by a list; the content type a browser wants for them.
_CONTAINER_TYPES = {"mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4", "matroska,webm": "audio/webm"}


def _names(value: str) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in value.split(",") if n.strip())


@dataclass(frozen=True)
class AudioLimits:
    """What a book may hold, from settings (MAX_UPLOAD_BYTES, MAX_FILES_PER_BOOK, ALLOWED_AUDIO_*)."""

    max_file_bytes: int
    max_files_per_book: int
    containers: frozenset[str]
    codecs: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> AudioLimits:
        return cls(
            max_file_bytes=settings.max_upload_bytes,
            max_files_per_book=settings.max_files_per_book,
            containers=_names(settings.allowed_audio_containers),
            codecs=_names(settings.allowed_audio_codecs),
        )

    def check_format(self, name: str, info: AudioInfo, field: str = "file") -> None:
        """Refuse audio in a container or codec the settings do not allow."""
        if not _names(info.container) & self.containers:
            raise ServiceError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"{name!r} is in a container ({info.container}) that is not accepted; "
                f"use one of: {', '.join(sorted(self.containers))}.",
                field,
            )
        if info.codec.lower() not in self.codecs:
            raise ServiceError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"{name!r} uses a codec ({info.codec}) that is not accepted; "
                f"use one of: {', '.join(sorted(self.codecs))}.",
                field,
            )

    @classmethod
    def defaults(cls) -> AudioLimits:
        """The limits of a deployment that configures none: the declared defaults, no environment read."""
        fields = Settings.model_fields
        return cls(
            max_file_bytes=fields["max_upload_bytes"].default,
            max_files_per_book=fields["max_files_per_book"].default,
            containers=_names(fields["allowed_audio_containers"].default),
            codecs=_names(fields["allowed_audio_codecs"].default),
        )


DEFAULT_LIMITS = AudioLimits.defaults()


@dataclass(frozen=True)
class Expected:
    """What the uploader declared about the bytes; `attach_stored_file` checks the object against it."""

    size: int | None = None
    md5_hex: str | None = None
    crc32c: int | None = None


async def read_file(path: Path, block: int = READ_BLOCK) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while data := await asyncio.to_thread(fh.read, block):
            yield data


def clean_file_name(file_name: str, field: str = "file") -> str:
    """The last path component, without control characters: what the listener sees, never a path."""
    name = PurePosixPath(file_name.replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name or name in (".", "..") or len(name) > MAX_NAME_LENGTH:
        raise ServiceError(ErrorCode.INVALID, f"A file name of 1 to {MAX_NAME_LENGTH} characters is required.", field)
    return name


def audio_content_type(content_type: str | None, info: AudioInfo) -> str:
    """The uploader's type when it is an audio type, else one derived from the probed container."""
    if content_type and content_type.startswith("audio/"):
        return content_type
    return _CONTAINER_TYPES.get(info.container, f"audio/{info.container}")


async def queue_transcription(
    session: AsyncSession, events: Publishes, audiobook_id: uuid.UUID, *, resend: bool = False
) -> Job:
    """Queue (or reuse the queued) job. Its message is an outbox row of this transaction, so it is
    sent even if the broker is down at the commit; `resend` sends a reused queued job's message again
    (its first one may be gone with a broker that lost its data). The event goes out after the commit."""
    job, is_new = await job_service.queue_transcription(session, audiobook_id)
    if is_new or resend:
        await outbox.add(session, tasks.TRANSCRIBE_AUDIOBOOK, str(job.id))
    if is_new:
        job_service.announce_after_commit(session, events, job)
    return job


async def count_files(session: AsyncSession, audiobook_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(AudioFile).where(col(AudioFile.audiobook_id) == audiobook_id)
    )
    return int(count or 0)


async def check_room(
    session: AsyncSession,
    audiobook_id: uuid.UUID | None,
    limits: AudioLimits,
    *,
    pending: int = 0,
    field: str = "audiobookId",
) -> Audiobook:
    """The book, if it can take one more file (`pending` more are on their way); checked early, to fail fast."""
    book = None if audiobook_id is None else await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", field)
    if await count_files(session, book.id) + pending >= limits.max_files_per_book:
        raise ServiceError(
            ErrorCode.TOO_MANY_FILES,
            f"An audiobook can have at most {limits.max_files_per_book} audio files.",
            field,
        )
    return book


def check_object(info: ObjectInfo | None, expected: Expected, limits: AudioLimits, field: str) -> ObjectInfo:
    """Refuse a missing object, one of the wrong size or checksum, or one over the size limit."""
    if info is None:
        raise ServiceError(
            ErrorCode.UPLOAD_INCOMPLETE,
            "The file has not been received completely yet: send the remaining bytes, then try again.",
            field,
        )
    if expected.size is not None and info.size != expected.size:
        raise ServiceError(
            ErrorCode.SIZE_MISMATCH,
            f"The upload was declared as {expected.size} bytes but {info.size} bytes arrived.",
            field,
        )
    if info.size > limits.max_file_bytes:
        raise ServiceError(
            ErrorCode.FILE_TOO_LARGE, f"Audio files are limited to {limits.max_file_bytes} bytes.", field
        )
    if info.size == 0:
        raise ServiceError(ErrorCode.NOT_AUDIO, "The file is empty.", field)
    if expected.md5_hex is not None and info.md5_hex is not None and info.md5_hex != expected.md5_hex.lower():
        raise ServiceError(
            ErrorCode.CHECKSUM_MISMATCH, "The file's MD5 does not match the one sent: it was damaged on the way.", field
        )
    if expected.crc32c is not None and info.crc32c is not None and info.crc32c != expected.crc32c:
        raise ServiceError(
            ErrorCode.CHECKSUM_MISMATCH,
            "The file's CRC32C does not match the one sent: it was damaged on the way.",
            field,
        )
    return info


@contextlib.asynccontextmanager
async def probe_copy(storage: Storage, key: str, name: str) -> AsyncIterator[Path]:
    """A local path named `name` for the object: a link to the file on local storage, else a download.

    The name matters: PyAV's complaints quote it, and the uploader should see their own file name.
    """
    with tempfile.TemporaryDirectory(prefix="audiocity-probe-") as tmp:
        path = Path(tmp) / name
        local = storage.local_path(key)
        if local is not None:
            await asyncio.to_thread(path.symlink_to, local)
        else:
            await storage.download_to(key, path)
        yield path


async def probe_stored(storage: Storage, key: str, name: str, limits: AudioLimits, field: str) -> AudioInfo:
    async with probe_copy(storage, key, name) as path:
        try:
            info = await asyncio.to_thread(probe, path)
        except NotAudioError as exc:
            raise ServiceError(ErrorCode.NOT_AUDIO, str(exc), field) from exc
    limits.check_format(name, info, field)
    return info


async def attach_stored_file(
    session: AsyncSession,
    storage: Storage,
    events: Publishes,
    *,
    audiobook_id: uuid.UUID | None,
    file_id: uuid.UUID,
    key: str,
    file_name: str,
    content_type: str | None,
    limits: AudioLimits = DEFAULT_LIMITS,
    expected: Expected = Expected(),
    field: str = "file",
    book_field: str = "audiobookId",
) -> tuple[AudioFile, Job]:
    """Check the object at `key`, probe it, append it to the end of the book's play order, queue transcription.

    Raises ServiceError for anything wrong with the object and leaves the object alone: whoever put it
    there decides what happens to it. The probe runs before the book is locked, so a long probe does
    not hold up other work on the book. `field` / `book_field` name the input blamed for problems
    with the file / with the book.
    """
    name = clean_file_name(file_name, field)
    await check_room(session, audiobook_id, limits, field=book_field)
    stored = check_object(await storage.stat(key), expected, limits, field)
    info = await probe_stored(storage, key, name, limits, field)

    book = await session.get(Audiobook, audiobook_id, with_for_update=True, populate_existing=True)
    if book is None:
        raise NotFound("Audiobook", book_field)
    position = await count_files(session, book.id)
    if position >= limits.max_files_per_book:
        raise ServiceError(
            ErrorCode.TOO_MANY_FILES,
            f"An audiobook can have at most {limits.max_files_per_book} audio files.",
            book_field,
        )
    audio_file = AudioFile(
        id=file_id,
        audiobook_id=book.id,
        position=position,
        file_name=name,
        content_type=audio_content_type(content_type, info),
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
    job = await queue_transcription(session, events, book.id)
    return audio_file, job


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass `chunks` through, failing as soon as they add up to more than `limit` bytes."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ServiceError(
                ErrorCode.FILE_TOO_LARGE,
                f"Files sent inline are limited to {limit} bytes; use startUpload for larger ones.",
                "file",
            )
        yield chunk


async def store_audio_file(
    session: AsyncSession,
    storage: Storage,
    events: Publishes,
    *,
    audiobook_id: uuid.UUID,
    file_name: str,
    content_type: str | None,
    chunks: AsyncIterator[bytes],
    max_bytes: int | None = None,
    limits: AudioLimits = DEFAULT_LIMITS,
) -> tuple[AudioFile, Job]:
    """Stream a file to storage (at most `max_bytes`), then attach it; a rollback removes the object."""
    name = clean_file_name(file_name)
    await check_room(session, audiobook_id, limits)
    file_id = uuid.uuid4()
    key = storage_keys.audio_file_key(audiobook_id, file_id, name)

    async def remove_object() -> None:
        await storage.delete(key)

    on_rollback(session, remove_object)
    cap = limits.max_file_bytes if max_bytes is None else min(max_bytes, limits.max_file_bytes)
    await storage.write(key, _capped(chunks, cap), content_type or "application/octet-stream")
    return await attach_stored_file(
        session,
        storage,
        events,
        audiobook_id=audiobook_id,
        file_id=file_id,
        key=key,
        file_name=name,
        content_type=content_type,
        limits=limits,
    )


async def add_audio_file(
    session: AsyncSession,
    storage: Storage,
    events: Publishes,
    *,
    audiobook_id: uuid.UUID,
    file_name: str,
    content_type: str | None,
    source: Path,
    limits: AudioLimits = DEFAULT_LIMITS,
) -> tuple[AudioFile, Job]:
    """`store_audio_file` from a local file (seed data, scripts, tests)."""
    return await store_audio_file(
        session,
        storage,
        events,
        audiobook_id=audiobook_id,
        file_name=file_name,
        content_type=content_type,
        chunks=read_file(source),
        limits=limits,
    )


async def files_of_book(session: AsyncSession, audiobook_id: uuid.UUID) -> list[AudioFile]:
    rows = await session.execute(
        select(AudioFile).where(col(AudioFile.audiobook_id) == audiobook_id).order_by(col(AudioFile.position))
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
        await _recut_preview(session, book)
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
        await _recut_preview(session, book)
    return book


async def _recut_preview(session: AsyncSession, book: Audiobook) -> None:
    """A published book's sample clip follows its play order: cut it again after the commit."""
    if book.published:
        await outbox.add(session, tasks.CUT_PREVIEW, str(book.id))


async def start_transcription(session: AsyncSession, events: Publishes, audiobook_id: uuid.UUID, *, force: bool) -> Job:
    """Queue the book again. Finished chunks are kept unless `force`, which transcribes from scratch."""
    files = await files_of_book(session, audiobook_id)
    if not files:
        raise ServiceError(ErrorCode.NO_AUDIO_FILES, "The audiobook has no audio files.", "audiobookId")
    running = await session.scalar(
        select(col(Job.id)).where(col(Job.audiobook_id) == audiobook_id, col(Job.status) == JobStatus.RUNNING)
    )
    if running is not None and force:
        raise ServiceError(ErrorCode.JOB_RUNNING, "A job is running for this audiobook.", "audiobookId")
    if force:
        await session.execute(
            delete(TranscriptChunk).where(col(TranscriptChunk.audio_file_id).in_([f.id for f in files]))
        )
    return await queue_transcription(session, events, audiobook_id, resend=True)
