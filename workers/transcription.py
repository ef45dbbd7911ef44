"""The transcription pipeline: chunk every file, transcribe chunks in parallel, stitch, summarise.

Each chunk's text is stored as it finishes, so a job that is retried or restarted after a crash
skips finished chunks and never duplicates text.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dramatiq.middleware import CurrentMessage

from audiocity.ai.base import PermanentAIError, TransientAIError
from audiocity.audio import AudioChunk, NotAudioError, split_for_transcription
from audiocity.db import session_scope
from audiocity.events import audiobook_jobs_channel, job_channel
from audiocity.models import AudioFile, Job, JobStatus, TranscriptStatus
from audiocity.services import audio_files as file_service
from audiocity.services import jobs as job_service
from audiocity.services import transcripts
from audiocity.services.library import transcript_key
from workers.resources import Resources

log = logging.getLogger(__name__)

TRANSCRIBE_SHARE = 0.9  # progress reaches 0.9 when every chunk is done; summary and stitching take the rest
PROMPT_WORDS = 50


def should_retry(retries: int, exc: BaseException) -> bool:
    """Dramatiq retries transient failures only; the SDK itself is built with max_retries=0."""
    from audiocity.config import get_settings

    return isinstance(exc, TransientAIError) and retries < get_settings().job_max_retries


@dataclass(frozen=True)
class ChunkTask:
    audio_file: AudioFile
    chunk: AudioChunk


async def _advance(res: Resources, job_id: uuid.UUID, **changes: Any) -> Job:
    async with session_scope(res.sessions) as session:
        job = await job_service.advance(session, job_id, **changes)
    await res.events.publish(
        [job_channel(job.id), audiobook_jobs_channel(job.audiobook_id)], job_service.job_payload(job)
    )
    return job


async def run_transcription(res: Resources, job_id: str) -> None:
    jid = uuid.UUID(job_id)
    async with session_scope(res.sessions) as session:
        job = await session.get(Job, jid)
        if job is None or job.status.terminal:
            log.info("job %s is gone or finished; nothing to do", job_id)
            return
        book_id = job.audiobook_id
        await transcripts.set_transcript_status(session, book_id, TranscriptStatus.RUNNING)
    await _advance(
        res, jid, status=JobStatus.RUNNING, stage="preparing", message="Cutting audio into chunks.",
        attempts=Job.attempts + 1, error=None,
    )  # fmt: skip
    try:
        await _transcribe_book(res, jid, book_id)
    except (PermanentAIError, NotAudioError) as exc:
        await _fail(res, jid, book_id, str(exc))
    except TransientAIError as exc:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message else 0
        if should_retry(retries, exc):
            await _advance(res, jid, status=JobStatus.QUEUED, stage="retrying", message=f"Will retry: {exc}")
            raise
        await _fail(res, jid, book_id, f"Gave up after {retries + 1} attempts: {exc}")
    except Exception as exc:
        log.exception("job %s failed", job_id)
        await _fail(res, jid, book_id, f"Unexpected error: {type(exc).__name__}")


async def _fail(res: Resources, job_id: uuid.UUID, book_id: uuid.UUID, error: str) -> None:
    async with session_scope(res.sessions) as session:
        await transcripts.set_transcript_status(session, book_id, TranscriptStatus.FAILED)
    await _advance(res, job_id, status=JobStatus.FAILED, stage="failed", error=error, message=error)


async def _transcribe_book(res: Resources, job_id: uuid.UUID, book_id: uuid.UUID) -> None:
    async with session_scope(res.sessions) as session:
        files = await file_service.files_of_book(session, book_id)
        done = {f.id: await transcripts.done_chunk_indexes(session, f.id) for f in files}
    with tempfile.TemporaryDirectory(prefix="audiocity-job-") as tmp:
        tasks: list[ChunkTask] = []
        for f in files:
            source = Path(tmp) / f"{f.id}.src"
            await res.storage.download_to(f.storage_key, source)
            chunk_dir = Path(tmp) / str(f.id)
            chunk_dir.mkdir()
            chunks = await asyncio.to_thread(
                split_for_transcription, source, chunk_dir, float(res.settings.chunk_seconds)
            )
            source.unlink()
            tasks += [ChunkTask(f, c) for c in chunks]
        total = len(tasks)
        finished = sum(1 for t in tasks if t.chunk.index in done[t.audio_file.id])
        await _advance(
            res, job_id, stage="transcribing", chunks_total=total, chunks_done=finished,
            progress=TRANSCRIBE_SHARE * finished / max(total, 1),
            message=f"Transcribing {total} chunks ({finished} already done).",
        )  # fmt: skip
        pending = [t for t in tasks if t.chunk.index not in done[t.audio_file.id]]
        await _transcribe_chunks(res, job_id, pending, total, finished)

    await _advance(res, job_id, stage="stitching", message="Stitching the transcript.")
    async with session_scope(res.sessions) as session:
        stitched = await transcripts.stitch(session, book_id)
        await transcripts.save_transcript(session, book_id, stitched)
    for fmt, body in (("txt", stitched.text), ("vtt", stitched.vtt)):
        await res.storage.write(transcript_key(book_id, fmt), _once(body.encode()), f"text/{fmt}")

    await _advance(res, job_id, stage="summarizing", progress=0.95, message="Writing the summary and tags.")
    summary = await res.summarizer.summarize(stitched.text)
    async with session_scope(res.sessions) as session:
        await transcripts.save_summary(session, book_id, summary.summary, summary.tags)
    usage_key = f"summary:{summary.provider}:{summary.model}"
    await _add_usage(res, job_id, usage_key, tokens=summary.prompt_tokens + summary.completion_tokens)
    await _advance(res, job_id, status=JobStatus.SUCCEEDED, stage="done", progress=1.0, message="Transcript ready.")


async def _once(data: bytes) -> Any:
    yield data


async def _add_usage(res: Resources, job_id: uuid.UUID, key: str, **amounts: float) -> None:
    async with session_scope(res.sessions) as session:
        job = await session.get(Job, job_id, with_for_update=True)
        if job is None:
            return
        usage = dict(job.usage)
        entry = dict(usage.get(key, {}))
        for name, amount in amounts.items():
            entry[name] = round(float(entry.get(name, 0)) + amount, 3)
        usage[key] = entry
        job.usage = usage


async def _transcribe_chunks(
    res: Resources, job_id: uuid.UUID, pending: list[ChunkTask], total: int, finished: int
) -> None:
    limit = asyncio.Semaphore(max(1, res.settings.transcription_concurrency))
    progress_lock = asyncio.Lock()
    state = {"done": finished}

    async def one(task: ChunkTask) -> None:
        async with limit:
            prompt = None
            if task.chunk.index > 0:
                async with session_scope(res.sessions) as session:
                    previous = await transcripts.chunk_text(session, task.audio_file.id, task.chunk.index - 1)
                if previous:
                    prompt = " ".join(previous.split()[-PROMPT_WORDS:])
            result = await res.transcriber.transcribe(task.chunk.path, prompt=prompt)
        async with session_scope(res.sessions) as session:
            await transcripts.save_chunk(
                session,
                audio_file_id=task.audio_file.id,
                chunk_index=task.chunk.index,
                start_seconds=task.chunk.start_seconds,
                end_seconds=task.chunk.end_seconds,
                text=result.text,
                segments=result.segments,
                provider=result.provider,
                model=result.model,
            )
        await _add_usage(res, job_id, f"transcription:{result.provider}:{result.model}",
                         audio_seconds=result.audio_seconds, requests=1)  # fmt: skip
        async with progress_lock:
            state["done"] += 1
            await _advance(
                res, job_id, chunks_done=state["done"],
                progress=TRANSCRIBE_SHARE * state["done"] / max(total, 1),
                message=f"Transcribed chunk {state['done']} of {total}.",
            )  # fmt: skip

    await asyncio.gather(*(one(t) for t in pending))
