"""Direct-to-storage uploads: open a resumable session, check the result, expire what was abandoned.

The bytes never pass through this module: `start_upload` hands the client a resumable session URL
(GCS itself, or the app's route on local storage), the client sends its chunks there, and
`complete_upload` checks the finished object and adds it to the book through the same code path as
an inline upload (`audio_files.attach_stored_file`). Whatever is refused is deleted from storage.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.db import after_commit, on_rollback
from audiocity.events import Publishes
from audiocity.models import AudioFile, Job, UploadSession, UploadStatus, utcnow
from audiocity.services import audio_files, storage_keys
from audiocity.services.audio_files import DEFAULT_LIMITS, AudioLimits, Expected
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.storage import Storage, UploadTarget

log = logging.getLogger(__name__)

# What a browser or tool may call an audio file; anything else (text/plain, image/png...) is refused early.
_AUDIO_TYPES = re.compile(r"(audio/[\w.+-]+|application/(octet-stream|ogg)|video/(mp4|webm|ogg))", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)


@dataclass(frozen=True)
class UploadRequest:
    """What `startUpload` asks for; checksums as the client has them (hex or base64, like X-Goog-Hash)."""

    audiobook_id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    md5: str | None = None
    crc32c: str | None = None


@dataclass(frozen=True)
class StartedUpload:
    upload: UploadSession
    target: UploadTarget


@dataclass
class CompletedUpload:
    """The file added by `complete_upload`, or why the upload was refused (the refusal is recorded)."""

    upload: UploadSession
    audio_file: AudioFile | None = None
    job: Job | None = None
    error: ServiceError | None = field(default=None)


def parse_md5(value: str | None) -> str | None:
    """An MD5 as 32 hex digits or as base64 (GCS's `md5Hash`); returned as lowercase hex."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) == 32 and _HEX.fullmatch(value):
        return value.lower()
    raw = _b64(value)
    if raw is None or len(raw) != 16:
        raise ServiceError(ErrorCode.INVALID, "md5 must be 32 hex digits or the base64 of 16 bytes.", "md5")
    return raw.hex()


def parse_crc32c(value: str | None) -> int | None:
    """A CRC32C as 8 hex digits or as base64 of its 4 big-endian bytes (GCS's `crc32c`)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) == 8 and _HEX.fullmatch(value):
        return int(value, 16)
    raw = _b64(value)
    if raw is None or len(raw) != 4:
        raise ServiceError(ErrorCode.INVALID, "crc32c must be 8 hex digits or the base64 of 4 bytes.", "crc32c")
    return int.from_bytes(raw, "big")


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


async def _pending_count(session: AsyncSession, audiobook_id: uuid.UUID, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(UploadSession)
        .where(
            col(UploadSession.audiobook_id) == audiobook_id,
            col(UploadSession.status) == UploadStatus.PENDING,
            col(UploadSession.expires_at) > now,
        )
    )
    return int(count or 0)


async def start_upload(
    session: AsyncSession,
    storage: Storage,
    request: UploadRequest,
    *,
    user_id: uuid.UUID,
    limits: AudioLimits = DEFAULT_LIMITS,
    ttl_seconds: int = 24 * 3600,
    now: datetime | None = None,
) -> StartedUpload:
    """Check what can be checked before any byte is sent, then open a resumable session for exactly that size."""
    now = now or utcnow()
    name = audio_files.clean_file_name(request.file_name, "fileName")
    content_type = (request.content_type or "application/octet-stream").strip().lower()
    if not _AUDIO_TYPES.fullmatch(content_type) or len(content_type) > 200:
        raise ServiceError(
            ErrorCode.NOT_AUDIO, f"{content_type!r} is not an audio content type (audio/...).", "contentType"
        )
    if request.size_bytes <= 0:
        raise ServiceError(ErrorCode.INVALID, "sizeBytes must be positive.", "sizeBytes")
    if request.size_bytes > limits.max_file_bytes:
        raise ServiceError(
            ErrorCode.FILE_TOO_LARGE, f"Audio files are limited to {limits.max_file_bytes} bytes.", "sizeBytes"
        )
    md5_hex = parse_md5(request.md5)
    crc32c = parse_crc32c(request.crc32c)
    book = await audio_files.check_room(
        session, request.audiobook_id, limits, pending=await _pending_count(session, request.audiobook_id, now)
    )

    upload_id = uuid.uuid4()  # also the id of the AudioFile it will become
    key = storage_keys.audio_file_key(book.id, upload_id, name)
    target = await storage.create_upload_session(
        key, content_type=content_type, size=request.size_bytes, expires_in=ttl_seconds
    )

    async def abort() -> None:
        await storage.abort_upload(key, target.url)

    on_rollback(session, abort)
    upload = UploadSession(
        id=upload_id,
        audiobook_id=book.id,
        user_id=user_id,
        storage_key=key,
        upload_url=target.url,
        file_name=name,
        content_type=content_type,
        size_bytes=request.size_bytes,
        md5_hex=md5_hex,
        crc32c=crc32c,
        expires_at=target.expires_at,
        created_at=now,
    )
    session.add(upload)
    await session.flush()
    return StartedUpload(upload, target)


async def _owned_upload(session: AsyncSession, upload_id: uuid.UUID, user_id: uuid.UUID) -> UploadSession:
    upload = await session.get(UploadSession, upload_id, with_for_update=True, populate_existing=True)
    if upload is None:
        raise NotFound("Upload", "uploadId")
    if upload.user_id != user_id:
        raise ServiceError(
            ErrorCode.UPLOAD_NOT_OWNED, "This upload was started by another user; only they can finish it.", "uploadId"
        )
    return upload


def _close(
    session: AsyncSession, storage: Storage, upload: UploadSession, status: UploadStatus, now: datetime, error: str
) -> None:
    """Record why the upload ended and delete its bytes once that is committed."""
    upload.status = status
    upload.error = error
    upload.closed_at = now
    key, url = upload.storage_key, upload.upload_url

    async def abort() -> None:
        await storage.abort_upload(key, url)

    after_commit(session, abort)


def _closed_error(upload: UploadSession) -> ServiceError:
    if upload.status is UploadStatus.EXPIRED:
        return ServiceError(ErrorCode.UPLOAD_EXPIRED, "This upload has expired; start a new one.", "uploadId")
    reason = f" ({upload.error})" if upload.error else ""
    return ServiceError(
        ErrorCode.UPLOAD_CLOSED, f"This upload was {upload.status.lower()}{reason}; start a new one.", "uploadId"
    )


async def complete_upload(
    session: AsyncSession,
    storage: Storage,
    events: Publishes,
    *,
    upload_id: uuid.UUID,
    user_id: uuid.UUID,
    limits: AudioLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> CompletedUpload:
    """Check the uploaded object and add it to the book, or refuse it for good and delete it.

    Raises ServiceError when there is nothing to record (unknown upload, someone else's, already
    closed, bytes still missing: the client may send them and call again). A refused or expired
    upload is not raised but returned in `error`, so that the refusal is committed with the status.
    Calling it again after success returns the same file.
    """
    now = now or utcnow()
    upload = await _owned_upload(session, upload_id, user_id)
    if upload.status is UploadStatus.COMPLETED:
        audio_file = None if upload.audio_file_id is None else await session.get(AudioFile, upload.audio_file_id)
        if audio_file is None:
            raise ServiceError(
                ErrorCode.UPLOAD_CLOSED, "This upload was completed, but its file has since been deleted.", "uploadId"
            )
        return CompletedUpload(upload, audio_file)
    if upload.status.closed:
        raise _closed_error(upload)
    if upload.expires_at <= now:
        _close(session, storage, upload, UploadStatus.EXPIRED, now, "expired before it was completed")
        return CompletedUpload(upload, error=_closed_error(upload))

    info = await storage.stat(upload.storage_key)
    if info is None:
        raise ServiceError(
            ErrorCode.UPLOAD_INCOMPLETE,
            f"Not all of the {upload.size_bytes} bytes have arrived yet: ask the upload URL how far it got "
            "(Content-Range: bytes */N), send the rest, then call completeUpload again.",
            "uploadId",
        )
    expected = Expected(size=upload.size_bytes, md5_hex=upload.md5_hex, crc32c=upload.crc32c)
    try:
        async with session.begin_nested():
            audio_file, job = await audio_files.attach_stored_file(
                session,
                storage,
                events,
                audiobook_id=upload.audiobook_id,
                file_id=upload.id,
                key=upload.storage_key,
                file_name=upload.file_name,
                content_type=upload.content_type,
                limits=limits,
                expected=expected,
                field="uploadId",
                book_field="uploadId",
            )
    except ServiceError as exc:
        _close(session, storage, upload, UploadStatus.FAILED, now, exc.message)
        return CompletedUpload(upload, error=exc)
    upload.status = UploadStatus.COMPLETED
    upload.audio_file_id = audio_file.id
    upload.closed_at = now
    await session.flush()
    return CompletedUpload(upload, audio_file, job)


async def cancel_upload(
    session: AsyncSession, storage: Storage, *, upload_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> UploadSession:
    """Give up on an upload: the session is cancelled and whatever it stored is deleted."""
    now = now or utcnow()
    upload = await _owned_upload(session, upload_id, user_id)
    if upload.status.closed:
        raise _closed_error(upload)
    _close(session, storage, upload, UploadStatus.CANCELLED, now, "cancelled by the uploader")
    await session.flush()
    return upload


async def upload_is_open(session: AsyncSession, storage_key: str, *, now: datetime) -> bool | None:
    """Whether bytes may still be sent for the upload to `storage_key` (None: no such upload)."""
    row = (
        await session.execute(
            select(col(UploadSession.status), col(UploadSession.expires_at)).where(
                col(UploadSession.storage_key) == storage_key
            )
        )
    ).one_or_none()
    if row is None:
        return None
    status, expires_at = row
    return bool(status is UploadStatus.PENDING and expires_at > now)


async def expire_uploads(
    session: AsyncSession,
    storage: Storage,
    *,
    now: datetime | None = None,
    retention_seconds: int = 7 * 24 * 3600,
    batch: int = 100,
) -> int:
    """Expire abandoned uploads (delete their bytes), and purge closed ones past their retention.

    Runs periodically (workers/uploads.py). Rows are locked with SKIP LOCKED, so runs in several
    workers, or a completeUpload in progress, never wait on each other. Bytes are deleted before the
    row changes, and deleting is idempotent, so a failure half-way is simply redone next time. Closed
    rows are kept for `retention_seconds` (a GCS session URL stays usable for a week, so a client
    could still finish an expired upload: the purge deletes that object too). Returns the rows handled.
    """
    now = now or utcnow()
    purge_before = now - timedelta(seconds=retention_seconds)
    rows = (
        await session.execute(
            select(UploadSession)
            .where(
                ((col(UploadSession.status) == UploadStatus.PENDING) & (col(UploadSession.expires_at) <= now))
                | (col(UploadSession.expires_at) <= purge_before)
            )
            .order_by(col(UploadSession.expires_at))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    handled = 0
    for upload in rows:
        try:
            if upload.status is not UploadStatus.COMPLETED:  # a completed upload's object is an AudioFile's
                await storage.abort_upload(upload.storage_key, upload.upload_url)
        except Exception:
            log.exception("could not delete the bytes of upload %s; will retry", upload.id)
            continue
        if upload.expires_at <= purge_before:
            await session.delete(upload)
        else:
            upload.status = UploadStatus.EXPIRED
            upload.error = "expired before it was completed"
            upload.closed_at = now
        handled += 1
    await session.flush()
    return handled
