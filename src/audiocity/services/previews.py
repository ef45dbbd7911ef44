"""Preview clips: a free sample of each published book, cut by a worker, served without purchase.

The range is the admin's choice (`set_preview`) or the first PREVIEW_SECONDS of the book, on the
book's timeline (files in play order), so a range may span two files. Publishing, and a new range
on a published book, queue a cut (an outbox message to the `cut_preview` actor): the publish
request never waits for audio encoding. Each cut writes a new object and then points the row at
it, deleting the previous clip; a draft keeps its last clip for admins, and the public route
(`/previews/{id}`) serves nothing for drafts.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.models import Audiobook, AudiobookPreview, AudioFile, utcnow
from audiocity.services import outbox
from audiocity.services.audio_files import files_of_book
from audiocity.services.errors import ErrorCode, NotFound, ServiceError

MAX_PREVIEW_SECONDS = 600.0
DEFAULT_MAX_SHARE = 0.25  # of the book, for a clip no admin chose


@dataclass(frozen=True)
class FilePart:
    """[start, end) seconds of one audio file that the clip takes."""

    audio_file: AudioFile
    start: float
    end: float


@dataclass(frozen=True)
class CutPlan:
    start_seconds: float
    duration_seconds: float
    parts: list[FilePart]
    old_key: str | None


def clip_range(preview: AudiobookPreview | None, total_seconds: float, default_seconds: float) -> tuple[float, float]:
    """(start, duration) of the clip on the book's timeline, kept inside the audio.

    Without an admin's choice the clip is the first `default_seconds`, but never more than
    DEFAULT_MAX_SHARE of the book: a free sample must not be the whole of a short book."""
    start = preview.chosen_start_seconds if preview and preview.chosen_start_seconds is not None else 0.0
    if preview and preview.chosen_duration_seconds is not None:
        duration = preview.chosen_duration_seconds
    else:
        duration = min(default_seconds, total_seconds * DEFAULT_MAX_SHARE)
    if start >= total_seconds:
        start = 0.0
    return start, max(0.0, min(duration, total_seconds - start))


def file_parts(files: Sequence[AudioFile], start: float, duration: float) -> list[FilePart]:
    """The pieces of each file, in play order, that [start, start + duration) covers."""
    parts: list[FilePart] = []
    offset, end = 0.0, start + duration
    for f in files:
        f_start, f_end = offset, offset + f.duration_seconds
        if f_end > start and f_start < end:
            parts.append(FilePart(f, max(start, f_start) - f_start, min(end, f_end) - f_start))
        offset = f_end
    return parts


async def queue_cut(session: AsyncSession, audiobook_id: uuid.UUID) -> None:
    """Cut the clip after this transaction commits (an outbox message: sent even if the broker is down now)."""
    await outbox.add(session, tasks.CUT_PREVIEW, str(audiobook_id))


async def set_preview(
    session: AsyncSession, audiobook_id: uuid.UUID, start_seconds: float | None, duration_seconds: float | None
) -> Audiobook:
    """Choose the clip's range (None, None: the first PREVIEW_SECONDS); a published book is re-cut."""
    book = await session.get(Audiobook, audiobook_id, with_for_update=True)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    if start_seconds is not None and (not math.isfinite(start_seconds) or start_seconds < 0):
        raise ServiceError(ErrorCode.INVALID, "The preview cannot start before 0.", "startSeconds")
    if start_seconds is not None and book.duration_seconds > 0 and start_seconds >= book.duration_seconds:
        raise ServiceError(
            ErrorCode.INVALID,
            f"The preview must start inside the audio (it is {book.duration_seconds:.1f} s long).",
            "startSeconds",
        )
    if duration_seconds is not None and (
        not math.isfinite(duration_seconds) or not 1.0 <= duration_seconds <= MAX_PREVIEW_SECONDS
    ):
        raise ServiceError(
            ErrorCode.INVALID, f"A preview lasts 1 to {MAX_PREVIEW_SECONDS:.0f} seconds.", "durationSeconds"
        )
    preview = await session.get(AudiobookPreview, audiobook_id, with_for_update=True)
    if preview is None:
        preview = AudiobookPreview(audiobook_id=audiobook_id)
        session.add(preview)
    preview.chosen_start_seconds = start_seconds
    preview.chosen_duration_seconds = duration_seconds
    await session.flush()
    if book.published:
        await queue_cut(session, audiobook_id)
    return book


async def plan_cut(session: AsyncSession, audiobook_id: uuid.UUID, default_seconds: float) -> CutPlan | None:
    """What the worker must cut now; None when the book is gone, a draft, or has no audio."""
    book = await session.get(Audiobook, audiobook_id)
    if book is None or not book.published:
        return None
    files = await files_of_book(session, audiobook_id)
    total = sum(f.duration_seconds for f in files)
    if total <= 0:
        return None
    preview = await session.get(AudiobookPreview, audiobook_id)
    start, duration = clip_range(preview, total, default_seconds)
    return CutPlan(start, duration, file_parts(files, start, duration), preview.storage_key if preview else None)


async def save_cut(
    session: AsyncSession,
    audiobook_id: uuid.UUID,
    *,
    key: str,
    start_seconds: float,
    duration_seconds: float,
    size_bytes: int,
    content_type: str,
) -> str | None:
    """Point the book at its new clip; returns the key of the clip it replaces (to delete after commit),
    or `key` itself when the book disappeared meanwhile (so the caller deletes the orphan)."""
    if await session.get(Audiobook, audiobook_id) is None:
        return key
    preview = await session.get(AudiobookPreview, audiobook_id, with_for_update=True)
    if preview is None:
        preview = AudiobookPreview(audiobook_id=audiobook_id)
        session.add(preview)
    old = preview.storage_key
    preview.storage_key = key
    preview.start_seconds = start_seconds
    preview.duration_seconds = duration_seconds
    preview.size_bytes = size_bytes
    preview.content_type = content_type
    preview.updated_at = utcnow()
    await session.flush()
    return old if old != key else None


async def previews_for_books(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AudiobookPreview]:
    """The cut clips of the listed books, in one query (for the DataLoader)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(AudiobookPreview).where(
            col(AudiobookPreview.audiobook_id).in_(list(ids)), col(AudiobookPreview.storage_key).is_not(None)
        )
    )
    return {p.audiobook_id: p for p in rows.scalars()}


async def public_preview(session: AsyncSession, audiobook_id: uuid.UUID) -> AudiobookPreview | None:
    """The clip anyone may fetch: only a published book's."""
    row = await session.execute(
        select(AudiobookPreview)
        .join(Audiobook, col(Audiobook.id) == col(AudiobookPreview.audiobook_id))
        .where(
            col(AudiobookPreview.audiobook_id) == audiobook_id,
            col(AudiobookPreview.storage_key).is_not(None),
            col(Audiobook.published).is_(True),
        )
    )
    return row.scalar_one_or_none()


async def clip_keys(session: AsyncSession, audiobook_id: uuid.UUID) -> list[str]:
    """The stored clip of a book about to be deleted (the caller removes the object)."""
    key = await session.scalar(
        select(col(AudiobookPreview.storage_key)).where(col(AudiobookPreview.audiobook_id) == audiobook_id)
    )
    return [key] if key else []


def public_path(preview: AudiobookPreview) -> str:
    """The app's public, cacheable path of the clip; the version changes with every cut."""
    return f"/previews/{preview.audiobook_id}?v={int(preview.updated_at.timestamp() * 1000)}"
