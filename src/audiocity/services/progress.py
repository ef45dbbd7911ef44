"""Listening progress: saving a position, and mapping it onto the book's files in play order."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, AudioFile, ListeningProgress, utcnow
from audiocity.services.audio_files import files_of_book
from audiocity.services.downloads import may_download
from audiocity.services.errors import ErrorCode, NotFound, ServiceError

# A listener this close to the end has finished the book (credits, silence, the last sentence).
FINISHED_WITHIN_SECONDS = 10.0


@dataclass(frozen=True)
class Progress:
    """A saved position mapped onto the book's files in play order."""

    position_seconds: float
    duration_seconds: float
    file_index: int | None
    file: AudioFile | None
    offset_seconds: float
    percent: float
    finished: bool
    updated_at: datetime


def locate(saved: ListeningProgress, files: list[AudioFile]) -> Progress:
    """Map a position in the whole book onto (file, offset) in play order."""
    total = sum(max(f.duration_seconds, 0.0) for f in files)
    position = max(saved.position_seconds, 0.0)
    if total > 0:
        position = min(position, total)
    index: int | None = None
    current: AudioFile | None = None
    offset = 0.0
    start = 0.0
    for i, f in enumerate(files):
        length = max(f.duration_seconds, 0.0)
        if position < start + length or i == len(files) - 1:
            index, current, offset = i, f, max(0.0, min(position - start, length))
            break
        start += length
    return Progress(
        position_seconds=position,
        duration_seconds=total,
        file_index=index,
        file=current,
        offset_seconds=offset,
        percent=round(100.0 * position / total, 2) if total > 0 else 0.0,
        finished=total > 0 and position > 0 and position >= total - FINISHED_WITHIN_SECONDS,
        updated_at=saved.updated_at,
    )


async def save_progress(
    session: AsyncSession, *, user_id: uuid.UUID, audiobook_id: uuid.UUID, position_seconds: float
) -> tuple[ListeningProgress, list[AudioFile]]:
    """Upsert the listener's position (clamped to the book's length); the latest save wins."""
    if not math.isfinite(position_seconds) or position_seconds < 0:
        raise ServiceError(ErrorCode.INVALID, "positionSeconds must be a number of seconds >= 0.", "positionSeconds")
    if await session.get(Audiobook, audiobook_id) is None:
        raise NotFound("Audiobook", "audiobookId")
    if not await may_download(session, user_id, audiobook_id):
        raise ServiceError(ErrorCode.NOT_OWNED, "You do not own this audiobook.", "audiobookId")
    files = await files_of_book(session, audiobook_id)
    total = sum(max(f.duration_seconds, 0.0) for f in files)
    position = min(position_seconds, total) if total > 0 else position_seconds
    now = utcnow()
    stmt = insert(ListeningProgress).values(
        user_id=user_id, audiobook_id=audiobook_id, position_seconds=position, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "audiobook_id"], set_={"position_seconds": position, "updated_at": now}
    )
    await session.execute(stmt)
    saved = ListeningProgress(user_id=user_id, audiobook_id=audiobook_id, position_seconds=position, updated_at=now)
    return saved, files
