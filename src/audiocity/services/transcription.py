"""The transcription domain: what each step of a transcription job changes, and the event that says so.

The worker (workers/transcription.py) decides what runs when, how many requests are in flight and who
retries; this module decides what a step means: which rows change in which transaction, which event
goes out after it, what the job's message says, and what "published" means for a transcript (rows,
passages, chapters and the `.txt`/`.vtt` objects). Every change of a job is one transaction followed
by one event; events are hints (the row is the truth), so a lost publish never fails the job.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.ai.base import Segment, Summary, Transcription
from audiocity.audio import AudioChunk, NotAudioError
from audiocity.clips import find_silences
from audiocity.db import session_scope
from audiocity.events import Publishes
from audiocity.models import AudioFile, Job, JobStatus, TranscriptStatus
from audiocity.services import chapters, notices, passages, transcripts
from audiocity.services import jobs as job_service
from audiocity.services.audio_files import files_of_book, probe_copy
from audiocity.services.storage_keys import transcript_key
from audiocity.services.transcripts import Stitched
from audiocity.storage.base import ObjectNotFound, Storage, write_bytes

log = logging.getLogger(__name__)

TRANSCRIBE_SHARE = 0.9  # progress reaches 0.9 when every chunk is done; stitching and the summary take the rest
NO_SPEECH = "No speech found: the transcript is empty and the summary was left as it was."
TRANSCRIPT_FORMATS = (("txt", "text/plain; charset=utf-8"), ("vtt", "text/vtt; charset=utf-8"))


class JobGone(Exception):
    """The job's row disappeared (its audiobook was deleted): stop quietly."""


# -- starting a run ----------------------------------------------------------------------------


async def runnable_book(session: AsyncSession, job_id: uuid.UUID) -> uuid.UUID | None:
    """The job's audiobook, or None when the job is gone or already finished (nothing to do)."""
    job = await session.get(Job, job_id)
    return job.audiobook_id if job is not None and not job.status.terminal else None


async def claim(session: AsyncSession, job_id: uuid.UUID, book_id: uuid.UUID) -> bool:
    """Under the book's lock: False when the job finished meanwhile, else mark the transcript RUNNING."""
    if await runnable_book(session, job_id) is None:
        return False
    await transcripts.set_transcript_status(session, book_id, TranscriptStatus.RUNNING)
    return True


# -- one job's row -----------------------------------------------------------------------------


@dataclass
class JobTracker:
    """One job's row and its events. `chunk_counts` (chunks per file, as planned or cut) and
    `total_seconds` (the book's audio) are what progress is measured against."""

    sessions: async_sessionmaker[AsyncSession]
    events: Publishes
    job_id: uuid.UUID
    book_id: uuid.UUID
    chunk_counts: dict[uuid.UUID, int] = field(default_factory=dict)
    total_seconds: float = 0.0

    async def advance_in(self, session: AsyncSession, **changes: Any) -> Job:
        try:
            return await job_service.advance(session, self.job_id, **changes)
        except NoResultFound as exc:
            raise JobGone(str(self.job_id)) from exc

    async def advance(self, **changes: Any) -> Job:
        """Change the row in its own transaction, then announce it."""
        async with session_scope(self.sessions) as session:
            job = await self.advance_in(session, **changes)
        await job_service.announce(self.events, job)
        return job

    async def start(self) -> Job:
        return await self.advance(
            status=JobStatus.RUNNING, stage="preparing", message="Preparing the audio.",
            attempts=Job.attempts + 1, error=None,
        )  # fmt: skip

    # -- progress ------------------------------------------------------------------------------

    async def progress_in(self, session: AsyncSession, **changes: Any) -> Job:
        """Chunks done and the share of the book's audio they cover, counted from the stored rows."""
        done, seconds = await transcripts.book_progress(session, self.book_id)
        total = sum(self.chunk_counts.values())
        share = min(1.0, seconds / self.total_seconds) if self.total_seconds else 0.0
        changes.setdefault("message", f"Transcribed {min(done, total)} of {total} chunks.")
        return await self.advance_in(
            session, chunks_done=min(done, total), chunks_total=total,
            progress=round(TRANSCRIBE_SHARE * share, 4), **changes,
        )  # fmt: skip

    async def progress(self, **changes: Any) -> Job:
        async with session_scope(self.sessions) as session:
            job = await self.progress_in(session, **changes)
        await job_service.announce(self.events, job)
        return job

    async def forget_chunks(self, audio_file: AudioFile, first: int) -> None:
        """The file was cut differently before: its chunks from `first` on mean other audio now."""
        log.info("%s was cut differently before: redoing it from chunk %d", audio_file.file_name, first + 1)
        async with session_scope(self.sessions) as session:
            await transcripts.delete_chunks(session, audio_file.id, from_index=first)

    async def record_chunk(self, audio_file: AudioFile, chunk: AudioChunk, result: Transcription) -> Job:
        """Store the chunk, add its usage and advance the job, in one transaction; then announce."""
        async with session_scope(self.sessions) as session:
            try:
                async with session.begin_nested():
                    await transcripts.save_chunk(
                        session,
                        audio_file_id=audio_file.id,
                        chunk_index=chunk.index,
                        start_seconds=chunk.start_seconds,
                        end_seconds=chunk.end_seconds,
                        text=result.text,
                        segments=result.segments,
                        provider=result.provider,
                        model=result.model,
                    )
            except IntegrityError:  # the file was deleted meanwhile; the job queued by that re-stitches
                log.info("%s was deleted while being transcribed", audio_file.file_name)
            amounts = {"requests": 1.0, "audio_seconds": result.audio_seconds}
            if result.input_tokens or result.output_tokens:
                amounts |= {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens}
            await job_service.add_usage(session, self.job_id, "transcription", result.provider, result.model, **amounts)
            job = await self.progress_in(session)
        await job_service.announce(self.events, job)
        return job

    async def record_retry(
        self,
        kind: str,
        provider: str,
        model: str,
        *,
        what: str,
        error: str,
        at: datetime,
        waited_seconds: float,
        attempt: int,
        rate_limited: bool,
        max_attempts: int,
    ) -> Job:
        """Count the failed try and add it to the job's history of retries, in one transaction; announce."""
        entry = {
            "what": what,
            "error": error,
            "at": at.isoformat(),
            "waited_seconds": waited_seconds,
            "attempt": attempt,
            "rate_limited": rate_limited,
        }
        message = f"{what}: {error}. Trying again in {waited_seconds:.1f} s (try {attempt + 1} of {max_attempts})."
        async with session_scope(self.sessions) as session:
            await job_service.add_usage(session, self.job_id, kind, provider, model, failed_requests=1)
            job = await job_service.add_retry(session, self.job_id, entry, message=message)
        await job_service.announce(self.events, job)
        return job

    async def count_failed_request(self, kind: str, provider: str, model: str) -> None:
        """Best effort: the request's own error is what the job reports."""
        try:
            async with session_scope(self.sessions) as session:
                await job_service.add_usage(session, self.job_id, kind, provider, model, failed_requests=1)
        except Exception:
            log.warning("could not count a failed request of job %s", self.job_id, exc_info=True)

    # -- the end -------------------------------------------------------------------------------

    async def publish_transcript(self, storage: Storage, *, chapter_min_silence: float) -> Stitched:
        """Stitch the stored chunks, store transcript and passages, detect chapters, write `.txt`/`.vtt`."""
        async with session_scope(self.sessions) as session:
            stitched = await transcripts.stitch(session, self.book_id)
            await transcripts.save_transcript(session, self.book_id, stitched)
            await passages.save_passages(session, self.book_id, stitched.segments)
        await detect_chapters(self.sessions, storage, self.book_id, stitched.segments, chapter_min_silence)
        bodies = {"txt": stitched.text, "vtt": stitched.vtt}
        for fmt, content_type in TRANSCRIPT_FORMATS:
            await write_bytes(storage, transcript_key(self.book_id, fmt), bodies[fmt].encode(), content_type)
        return stitched

    async def save_summary(self, summary: Summary) -> str:
        """Store the summary and tags (the transcript is READY) with the request's usage; the job's message."""
        async with session_scope(self.sessions) as session:
            await transcripts.save_summary(session, self.book_id, summary.summary, summary.tags)
            await job_service.add_usage(
                session, self.job_id, "summary", summary.provider, summary.model,
                requests=summary.requests, prompt_tokens=summary.prompt_tokens,
                completion_tokens=summary.completion_tokens,
            )  # fmt: skip
        return "Transcript, summary and tags ready."

    async def keep_summary(self) -> str:
        """Nothing was said: the transcript is READY and the book keeps whatever summary and tags it has."""
        async with session_scope(self.sessions) as session:
            await transcripts.set_transcript_status(session, self.book_id, TranscriptStatus.READY)
        return NO_SPEECH

    async def end(self, timings: dict[str, float], **changes: Any) -> Job:
        """The last change of an attempt, with its timings, in one transaction; a job that failed for
        good also queues the admins' notice. Then announce."""
        async with session_scope(self.sessions) as session:
            await job_service.add_timings(session, self.job_id, **timings)
            job = await self.advance_in(session, **changes)
            if changes.get("status") is JobStatus.FAILED:
                await notices.queue_notice(session, notices.NoticeKind.JOB_FAILED, str(self.job_id))
        await job_service.announce(self.events, job)
        return job

    async def mark_transcript_failed(self) -> None:
        async with session_scope(self.sessions) as session:
            await transcripts.set_transcript_status(session, self.book_id, TranscriptStatus.FAILED)


def has_speech(stitched: Stitched) -> bool:
    """A transcript with no words keeps the book's summary and tags: there is nothing to summarise."""
    return bool(stitched.text.strip())


# -- chapters ----------------------------------------------------------------------------------


async def book_silences(
    sessions: async_sessionmaker[AsyncSession], storage: Storage, audiobook_id: uuid.UUID, min_seconds: float
) -> list[chapters.Pause]:
    """Pauses measured in every file with PyAV, moved onto the book's timeline; a file that cannot be
    read is left out (the transcript's own gaps still count)."""
    async with session_scope(sessions) as session:
        files = await files_of_book(session, audiobook_id)
    found: list[chapters.Pause] = []
    offset = 0.0
    for f in files:
        try:
            async with probe_copy(storage, f.storage_key, f"{f.id}-{f.file_name}"[-200:]) as path:
                silences = await asyncio.to_thread(find_silences, path, min_seconds)
            found += [chapters.Pause(offset + s.start, offset + s.end) for s in silences]
        except (ObjectNotFound, NotAudioError, OSError):
            log.warning("could not measure pauses in %r", f.file_name, exc_info=True)
        offset += f.duration_seconds
    return found


async def detect_chapters(
    sessions: async_sessionmaker[AsyncSession],
    storage: Storage,
    audiobook_id: uuid.UUID,
    segments: Sequence[Segment],
    min_seconds: float,
) -> None:
    """Detect and store the book's chapters and write the chapters WebVTT object. Chapters an admin
    edited are kept, but their WebVTT is written again, since the book's length may have changed."""
    silences = await book_silences(sessions, storage, audiobook_id, min_seconds)
    async with session_scope(sessions) as session:
        total = sum(f.duration_seconds for f in await files_of_book(session, audiobook_id))
        found = chapters.detect(segments, silences, total, min_seconds)
        written, vtt = await chapters.save_detected(session, audiobook_id, found)
    if vtt is not None:
        await chapters.store_vtt(storage, audiobook_id, vtt)
    log.info("chapters of %s: %s", audiobook_id, f"{len(found)} detected" if written else "kept (edited by an admin)")
