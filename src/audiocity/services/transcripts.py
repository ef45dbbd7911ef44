"""Chunk results, and the whole book's transcript stitched from them in play order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.ai.base import Segment
from audiocity.models import Audiobook, AudioFile, Transcript, TranscriptChunk, TranscriptStatus, utcnow
from audiocity.services import embeddings, passages
from audiocity.services.catalog import refresh_search_vector


@dataclass(frozen=True)
class Stitched:
    text: str
    vtt: str
    segments: list[Segment]


async def save_chunk(
    session: AsyncSession,
    *,
    audio_file_id: uuid.UUID,
    chunk_index: int,
    start_seconds: float,
    end_seconds: float,
    text: str,
    segments: list[Segment],
    provider: str,
    model: str,
) -> bool:
    """Store a chunk's result once; a second worker finishing the same chunk changes nothing."""
    result = await session.execute(
        insert(TranscriptChunk)
        .values(
            id=uuid.uuid4(),
            audio_file_id=audio_file_id,
            chunk_index=chunk_index,
            start_seconds=start_seconds,
            end_seconds=end_seconds,
            text=text,
            segments=[{"start": s.start, "end": s.end, "text": s.text} for s in segments],
            provider=provider,
            model=model,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_transcript_chunks")
        .returning(col(TranscriptChunk.id))
    )
    return result.scalar_one_or_none() is not None


async def done_chunk_indexes(session: AsyncSession, audio_file_id: uuid.UUID) -> set[int]:
    rows = await session.execute(
        select(col(TranscriptChunk.chunk_index)).where(col(TranscriptChunk.audio_file_id) == audio_file_id)
    )
    return set(rows.scalars())


async def chunks_of_files(
    session: AsyncSession, audio_file_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TranscriptChunk]]:
    """Every stored chunk of these files in one query, by file, in chunk order."""
    found: dict[uuid.UUID, list[TranscriptChunk]] = {file_id: [] for file_id in audio_file_ids}
    if not audio_file_ids:
        return found
    rows = await session.execute(
        select(TranscriptChunk)
        .where(col(TranscriptChunk.audio_file_id).in_(audio_file_ids))
        .order_by(col(TranscriptChunk.audio_file_id), col(TranscriptChunk.chunk_index))
    )
    for chunk in rows.scalars():
        found[chunk.audio_file_id].append(chunk)
    return found


async def delete_chunks(session: AsyncSession, audio_file_id: uuid.UUID, *, from_index: int = 0) -> int:
    """Forget a file's chunks from `from_index` on (they were cut differently, e.g. after
    TRANSCRIPTION_CHUNK_SECONDS changed, so their indexes mean other audio now)."""
    result = await session.execute(
        delete(TranscriptChunk).where(
            col(TranscriptChunk.audio_file_id) == audio_file_id,
            col(TranscriptChunk.chunk_index) >= from_index,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def book_progress(session: AsyncSession, audiobook_id: uuid.UUID) -> tuple[int, float]:
    """(chunks stored, seconds of audio they cover) over the book's current files, from the rows themselves."""
    row = (
        await session.execute(
            select(
                func.count(col(TranscriptChunk.id)),
                func.coalesce(func.sum(col(TranscriptChunk.end_seconds) - col(TranscriptChunk.start_seconds)), 0.0),
            )
            .join(AudioFile, col(AudioFile.id) == col(TranscriptChunk.audio_file_id))
            .where(col(AudioFile.audiobook_id) == audiobook_id)
        )
    ).one()
    return int(row[0]), float(row[1])


async def chunk_text(session: AsyncSession, audio_file_id: uuid.UUID, chunk_index: int) -> str | None:
    return await session.scalar(
        select(col(TranscriptChunk.text)).where(
            col(TranscriptChunk.audio_file_id) == audio_file_id,
            col(TranscriptChunk.chunk_index) == chunk_index,
        )
    )


def _timestamp(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_vtt(segments: list[Segment]) -> str:
    cues = ["WEBVTT", ""]
    for n, seg in enumerate(segments, 1):
        cues += [str(n), f"{_timestamp(seg.start)} --> {_timestamp(max(seg.end, seg.start))}", seg.text, ""]
    return "\n".join(cues)


async def stitch(session: AsyncSession, audiobook_id: uuid.UUID) -> Stitched:
    """Files in play order, chunks in index order, times shifted onto the book's timeline.

    A file starts where the previous one ends (their probed durations add up), so cue times are what
    a player showing the whole book would show. One query for the whole book.
    """
    rows = await session.execute(
        select(col(AudioFile.id), col(AudioFile.duration_seconds), TranscriptChunk)
        .join(TranscriptChunk, col(TranscriptChunk.audio_file_id) == col(AudioFile.id), isouter=True)
        .where(col(AudioFile.audiobook_id) == audiobook_id)
        .order_by(col(AudioFile.position), col(TranscriptChunk.chunk_index))
    )
    offset = 0.0
    current: uuid.UUID | None = None
    duration = 0.0
    segments: list[Segment] = []
    for file_id, file_duration, chunk in rows:
        if file_id != current:
            if current is not None:
                offset += duration
            current, duration = file_id, float(file_duration)
        if chunk is None:
            continue
        base = offset + chunk.start_seconds
        limit = offset + chunk.end_seconds
        raw: list[dict[str, Any]] = chunk.segments or [
            {"start": 0.0, "end": chunk.end_seconds - chunk.start_seconds, "text": chunk.text}
        ]
        for s in raw:
            text = str(s["text"]).strip()
            if text:
                start = min(base + float(s["start"]), limit)
                end = min(base + float(s["end"]), limit)
                if segments and start < segments[-1].end:  # keep the timeline monotonic
                    start = segments[-1].end
                segments.append(Segment(start=start, end=max(end, start), text=text))
    text = " ".join(s.text for s in segments)
    return Stitched(text=text, vtt=to_vtt(segments), segments=segments)


async def save_transcript(session: AsyncSession, audiobook_id: uuid.UUID, stitched: Stitched) -> None:
    stmt = insert(Transcript).values(
        audiobook_id=audiobook_id, text=stitched.text, vtt=stitched.vtt, updated_at=utcnow()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["audiobook_id"],
            set_={
                "text": stmt.excluded.text,
                "vtt": stmt.excluded.vtt,
                "updated_at": stmt.excluded.updated_at,
            },
        )
    )


async def save_summary(session: AsyncSession, audiobook_id: uuid.UUID, summary: str, tags: list[str]) -> None:
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        return
    book.summary = summary
    book.tags = tags
    book.transcript_status = TranscriptStatus.READY
    book.updated_at = utcnow()
    await session.flush()
    await refresh_search_vector(session, audiobook_id)


async def set_transcript_status(session: AsyncSession, audiobook_id: uuid.UUID, status: TranscriptStatus) -> None:
    book = await session.get(Audiobook, audiobook_id)
    if book is not None:
        book.transcript_status = status
        await session.flush()


async def get_transcript(session: AsyncSession, audiobook_id: uuid.UUID) -> Transcript | None:
    return await session.get(Transcript, audiobook_id)


async def transcribed_books(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(select(col(Transcript.audiobook_id)).order_by(col(Transcript.audiobook_id)))
    return list(rows.scalars())


async def rebuild_passages(session: AsyncSession, audiobook_id: uuid.UUID) -> int:
    """Cut the stored chunks into passages again and queue their embedding: for transcripts stitched
    before passages existed (`audiocity reindex`), which transcript search and meaning search read."""
    stitched = await stitch(session, audiobook_id)
    count = await passages.save_passages(session, audiobook_id, stitched.segments)
    await embeddings.queue_refresh(session, audiobook_id)
    return count
