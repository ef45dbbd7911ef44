"""The transcription pipeline: cut every file into chunks, transcribe them in parallel, stitch, summarise.

How a run goes (one Dramatiq message per job; `run_transcription` is the whole job):

1. Take the book's lock (workers/locks.py), so one run per book works at a time on any worker.
2. Files are cut one after another, in play order, in a thread (`audiocity.audio.iter_chunks`), and
   each chunk is handed to the transcriber the moment its WAV is written, so transcription starts
   after the first chunk, not after the whole book is cut. At most `min(TRANSCRIPTION_CONCURRENCY,
   transcriber.max_concurrency)` requests are in flight.
3. Each chunk's result is stored the moment it arrives (unique per file + chunk index), with the
   job's progress and usage, in one transaction. A file whose stored chunks already cover it is not
   even downloaded again; cut points depend only on the audio, so a rerun finds finished chunks
   under the same indexes and times (a stored chunk whose times differ, e.g. after
   TRANSCRIPTION_CHUNK_SECONDS changed, is thrown away and redone).
4. Stitch every file's chunks in play order onto the book's timeline (text + WebVTT), then summarise
   the opening section, then embed the summary and the transcript passages for meaning search
   (workers/embedding.py; only what is not embedded yet). Reordering, adding or deleting files queues
   a job that only re-stitches.

The previous chunk's text as `prompt`, with chunks in parallel: the chunks of each file are grouped
into *lanes* of `L` consecutive chunks, `L = min(4, ceil(estimated chunks in the book / (2 *
concurrency)))` (one lane per file when concurrency is 1). The first chunk of a lane (and every
file's first chunk) is sent without a prompt; every other chunk waits for the chunk before it and
gets the tail of its text. So lanes run side by side, at least 3 chunks in 4 get their predecessor's
text on long books, and which chunks get a prompt is fixed by the book and the settings, never by
timing: a run resumed after a crash sends exactly the requests the uninterrupted run would have
sent. Files never prompt each other, so reordering them invalidates nothing. The price is paid
while the first files are cut: a lane cannot start before its first chunk exists (measured in
docs/benchmarks.md: +12% over the ideal on a 10-hour book with 10 s requests, +4% with no prompts).

What each step changes (job rows and their events, the transcript's rows and objects, chapters, the
summary) is services/transcription.py; this module decides what runs when and who retries.

Failures: the SDK does not retry (`max_retries=0`); each request does, on its own budget
(workers/request_retry.py): a 429, 5xx, timeout or dropped connection waits (backoff with jitter,
at least Retry-After) and tries that chunk again while the other chunks go on, and a 429 lowers the
provider's concurrency for every job (audiocity/ai/limiter.py). Each retried failure is added to the
job's `retries` history. The job fails when one request has used its whole budget (naming the
chunk) or on a permanent error (400, bad audio, refused content), with a readable `error`;
`startTranscription` then queues a new job that keeps every finished chunk. Dramatiq redelivers the
message only after a worker crash (the next run resumes from the stored chunks) or a lost database
or Redis, which stops new requests, lets the ones in flight finish and raises `dramatiq.Retry`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dramatiq
import redis.exceptions
from dramatiq.common import compute_backoff
from dramatiq.middleware import CurrentMessage
from sqlalchemy.exc import InterfaceError, OperationalError

from audiocity import logs
from audiocity.ai.base import PermanentAIError, Transcription, TransientAIError
from audiocity.audio import AudioChunk, NotAudioError, iter_chunks
from audiocity.config import Settings, get_settings
from audiocity.db import session_scope
from audiocity.models import AudioFile, JobStatus, TranscriptChunk
from audiocity.services import audio_files as file_service
from audiocity.services import transcription as domain
from audiocity.services import transcripts
from audiocity.services.transcription import JobGone
from audiocity.storage.base import ObjectNotFound
from workers import embedding
from workers import metrics as worker_metrics
from workers.locks import book_lock
from workers.request_retry import GaveUp, RetryPolicy, RetryRecord, call_with_retry
from workers.resources import Resources

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_CHUNK_SECONDS = 600  # OpenAI: 25 MB per upload, and gpt-4o-transcribe refuses much more than 20 minutes
BOUNDS_TOLERANCE = 0.001  # seconds: a stored chunk is the same chunk if its times match this closely
LANES_PER_SLOT = 2  # see lane_length
MAX_LANE = 4  # at most 1 chunk in 4 goes without its predecessor's text; the ramp-up stays short
COMPLETE_TOLERANCE = 0.05  # seconds: stored chunks reaching this close to a file's end cover the file
# Infrastructure failures worth a retry: the database or Redis went away for a moment.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, ConnectionError)

__all__ = ["JobGone", "lane_length", "retry_delay_ms", "run_transcription", "should_retry"]


# -- retry policy ------------------------------------------------------------------------------


def should_retry(retries: int, exc: BaseException) -> bool:
    """Dramatiq's `retry_when`: the `Retry` that `run_transcription` raises after deciding to retry, or
    a database/Redis outage so early in the run that the job row could not even be read."""
    return isinstance(exc, (dramatiq.Retry, *INFRASTRUCTURE_ERRORS)) and retries < get_settings().job_max_retries


def retry_delay_ms(retries: int, retry_after: float | None, settings: Settings) -> int:
    """Exponential backoff with jitter (min * 2^retries * U(1, 2), capped), never shorter than Retry-After.

    Retry-After gets up to 20% jitter of its own, so jobs throttled together do not return together.
    """
    _, delay = compute_backoff(
        retries, factor=settings.job_retry_min_backoff_ms, max_backoff=settings.job_retry_max_backoff_ms
    )
    if retry_after:
        delay = max(delay, math.ceil(retry_after * 1000 * random.uniform(1.0, 1.2)))
    return int(delay)


def _current_retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


# -- planning ----------------------------------------------------------------------------------


def chunk_seconds(settings: Settings) -> float:
    return float(max(1, min(settings.chunk_seconds, MAX_CHUNK_SECONDS)))


def estimated_chunks(duration_seconds: float, max_seconds: float) -> int:
    return max(1, math.ceil(duration_seconds / max_seconds))


def lane_length(durations: list[float], max_seconds: float, concurrency: int) -> int:
    """Consecutive chunks per lane: `LANES_PER_SLOT` lanes per request slot, at most `MAX_LANE` long.

    A lane is a chain of requests, so it is a floor under the run's time, and a lane can only start
    once its first chunk is cut. Files are cut one after another (a 1-hour file takes ~3 s), so lanes
    start gradually: short lanes fill every slot sooner. With one slot there is nothing to fill, so a
    whole file is one lane and every chunk after its first gets a prompt.
    """
    total = sum(estimated_chunks(d, max_seconds) for d in durations)
    if concurrency <= 1:
        return max(1, total)
    return max(1, min(MAX_LANE, math.ceil(total / (LANES_PER_SLOT * concurrency))))


def concurrency_for(res: Resources) -> int:
    limit = getattr(res.transcriber, "max_concurrency", None)
    wanted = max(1, res.settings.transcription_concurrency)
    return min(wanted, limit) if limit else wanted


def covers_file(stored: list[TranscriptChunk], duration_seconds: float) -> bool:
    """Stored chunks 0..n-1, contiguous from 0 to the file's end: nothing left to cut or send."""
    if not stored or [c.chunk_index for c in stored] != list(range(len(stored))):
        return False
    if abs(stored[0].start_seconds) > BOUNDS_TOLERANCE:
        return False
    for before, after in itertools.pairwise(stored):
        if abs(before.end_seconds - after.start_seconds) > BOUNDS_TOLERANCE:
            return False
    return abs(stored[-1].end_seconds - duration_seconds) <= COMPLETE_TOLERANCE


def same_bounds(stored: TranscriptChunk, chunk: AudioChunk) -> bool:
    return (
        abs(stored.start_seconds - chunk.start_seconds) <= BOUNDS_TOLERANCE
        and abs(stored.end_seconds - chunk.end_seconds) <= BOUNDS_TOLERANCE
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _where(audio_file: AudioFile, chunk: AudioChunk) -> str:
    return (
        f"{audio_file.file_name!r}, chunk {chunk.index + 1} ({_clock(chunk.start_seconds)}-{_clock(chunk.end_seconds)})"
    )


# -- the run -----------------------------------------------------------------------------------


async def run_transcription(res: Resources, job_id: str) -> None:
    """Process one job to SUCCEEDED or FAILED, or raise `dramatiq.Retry` for a transient failure."""
    jid = uuid.UUID(job_id)
    logs.bind(job_id=job_id)
    async with session_scope(res.sessions) as session:
        book_id = await domain.runnable_book(session, jid)
    logs.bind(audiobook_id=book_id)
    if book_id is None:
        log.info("job %s is gone or finished; nothing to do", job_id)
        return
    async with book_lock(res.engine, book_id):
        async with session_scope(res.sessions) as session:
            claimed = await domain.claim(session, jid, book_id)
        if not claimed:  # finished by the run we waited for
            log.info("job %s finished while waiting for the audiobook's lock", job_id)
            return
        run = _Run(res, jid, book_id)
        log.info("transcription started")
        try:
            await run.jobs.start()
            await run.transcribe_book()
            await run.finish()
        except JobGone:
            log.info("job %s was deleted while running (its audiobook is gone)", job_id)
        except (PermanentAIError, NotAudioError, TransientAIError) as exc:  # a request's budget is spent
            await run.fail(str(exc))
        except INFRASTRUCTURE_ERRORS as exc:
            await run.retry_or_fail(exc)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            await run.fail(f"Unexpected error ({type(exc).__name__}); see the worker log.")


@dataclass
class _Run:
    """One attempt at one job."""

    res: Resources
    job_id: uuid.UUID
    book_id: uuid.UUID
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.max_seconds = chunk_seconds(self.res.settings)
        self.concurrency = concurrency_for(self.res)
        self.slots = asyncio.Semaphore(self.concurrency)
        self.stop = asyncio.Event()
        self.record_lock = asyncio.Lock()  # chunk results are stored and published one at a time
        self.jobs = domain.JobTracker(self.res.sessions, self.res.events, self.job_id, self.book_id)
        self.policy = RetryPolicy.from_settings(self.res.settings)

    async def _ask(self, kind: str, provider: str, model: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One AI request with its own retry budget, under the provider's shared limiter."""

        async def on_retry(record: RetryRecord) -> None:
            await self._record_retry(kind, provider, model, record)

        limiter = self.res.limiters.get(provider) if self.res.limiters else None
        return await call_with_retry(what, call, self.policy, limiter=limiter, on_retry=on_retry)

    def _time(self, name: str, seconds: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + seconds

    # -- transcription -------------------------------------------------------------------------

    async def transcribe_book(self) -> None:
        async with session_scope(self.res.sessions) as session:
            files = await file_service.files_of_book(session, self.book_id)
            stored = await transcripts.chunks_of_files(session, [f.id for f in files])
        lane = lane_length([f.duration_seconds for f in files], self.max_seconds, self.concurrency)
        self.jobs.total_seconds = sum(f.duration_seconds for f in files)
        for f in files:
            complete = covers_file(stored[f.id], f.duration_seconds)
            self.jobs.chunk_counts[f.id] = (
                len(stored[f.id]) if complete else estimated_chunks(f.duration_seconds, self.max_seconds)
            )
        await self._record_progress(
            stage="transcribing",
            message=f"Transcribing {len(files)} file(s), {self.concurrency} chunk(s) at a time.",
        )
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="audiocity-job-") as tmp:
            async with asyncio.TaskGroup() as chunk_tasks:
                for f in files:  # one at a time: cutting is CPU-bound and mostly holds the GIL
                    if self.stop.is_set():
                        break
                    if covers_file(stored[f.id], f.duration_seconds):
                        continue
                    try:
                        await self._cut_file(f, stored[f.id], lane, Path(tmp), chunk_tasks)
                    except (NotAudioError, ObjectNotFound) as exc:
                        self._failed(PermanentAIError(_unusable(f, exc)))
                    except Exception as exc:
                        self._failed(exc)
        self._time("transcribe_seconds", time.monotonic() - started)
        if self.errors:
            raise _worst(self.errors)

    async def _cut_file(
        self,
        audio_file: AudioFile,
        stored: list[TranscriptChunk],
        lane: int,
        tmp: Path,
        chunk_tasks: asyncio.TaskGroup,
    ) -> None:
        """Cut one file in a thread, starting each chunk's transcription as soon as it is cut."""
        started = time.monotonic()
        done = {c.chunk_index: c for c in stored}
        loop = asyncio.get_running_loop()
        previous: asyncio.Future[str | None] | None = None
        count = 0
        name = f"{audio_file.id}-{audio_file.file_name}"[-200:]
        async with file_service.probe_copy(self.res.storage, audio_file.storage_key, name) as source:
            chunks = iter_chunks(
                source,
                tmp / str(audio_file.id),
                self.max_seconds,
                skip=lambda c: c.index in done and same_bounds(done[c.index], c),
            )
            try:
                while not self.stop.is_set():
                    chunk = await asyncio.to_thread(_next_or_none, chunks)
                    if chunk is None:
                        break
                    count += 1
                    result: asyncio.Future[str | None] = loop.create_future()
                    kept = done.get(chunk.index)
                    if kept is not None and same_bounds(kept, chunk):
                        result.set_result(kept.text)
                    else:
                        if kept is not None:  # cut differently before: forget this chunk and all after it
                            await self._forget_chunks(audio_file, done, chunk.index)
                        wait_for = None if chunk.index % lane == 0 else previous
                        chunk_tasks.create_task(self._transcribe_chunk(audio_file, chunk, wait_for, result))
                    previous = result
            except NotAudioError as exc:  # name the file as the admin knows it, not its storage key
                raise NotAudioError(str(exc).replace(repr(source.name), repr(audio_file.file_name), 1)) from exc
            finally:
                await asyncio.to_thread(chunks.close)
        self._time("prepare_seconds", time.monotonic() - started)
        if not self.stop.is_set() and count != self.jobs.chunk_counts.get(audio_file.id):
            self.jobs.chunk_counts[audio_file.id] = count
            await self._record_progress()

    async def _forget_chunks(self, audio_file: AudioFile, done: dict[int, TranscriptChunk], first: int) -> None:
        await self.jobs.forget_chunks(audio_file, first)
        for index in [i for i in done if i >= first]:
            del done[index]

    async def _transcribe_chunk(
        self,
        audio_file: AudioFile,
        chunk: AudioChunk,
        wait_for: asyncio.Future[str | None] | None,
        result: asyncio.Future[str | None],
    ) -> None:
        """Transcribe and store one chunk; on failure stop the run (requests in flight still finish)."""
        text: str | None = None
        try:
            prompt = await wait_for if wait_for is not None else None
            if wait_for is not None and prompt is None:
                return  # the chunk before failed or was never sent: this one waits for the next run
            async with self.slots:
                if self.stop.is_set():
                    return
                transcriber = self.res.transcriber
                where = _where(audio_file, chunk)
                try:
                    transcription = await self._ask(
                        "transcription",
                        transcriber.name,
                        _model_of(transcriber),
                        where,
                        lambda: transcriber.transcribe(
                            chunk.path, prompt=prompt or None, duration=chunk.duration_seconds
                        ),
                    )
                except GaveUp:
                    await self._record_failed_request()
                    raise
                except (TransientAIError, PermanentAIError) as exc:
                    await self._record_failed_request()
                    raise _located(exc, where) from exc
            await self._record_chunk(audio_file, chunk, transcription)
            text = transcription.text
            chunk.path.unlink(missing_ok=True)
        except Exception as exc:
            self._failed(exc)
        finally:
            result.set_result(text)

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, TransientAIError | PermanentAIError | JobGone):
            log.warning("job %s: %r", self.job_id, exc)
        self.errors.append(exc)
        self.stop.set()

    # -- recording -----------------------------------------------------------------------------

    async def _record_chunk(self, audio_file: AudioFile, chunk: AudioChunk, result: Transcription) -> None:
        worker_metrics.observe_request(result.provider, "transcription", "ok", audio_seconds=result.audio_seconds)
        worker_metrics.observe_tokens(
            result.provider, result.model, input=result.input_tokens, output=result.output_tokens
        )
        async with self.record_lock:
            await self.jobs.record_chunk(audio_file, chunk, result)

    async def _record_retry(self, kind: str, provider: str, model: str, record: RetryRecord) -> None:
        worker_metrics.observe_request(provider, kind, "rate_limited" if record.rate_limited else "error")
        async with self.record_lock:
            await self.jobs.record_retry(
                kind, provider, model, what=record.what, error=record.error, at=record.at,
                waited_seconds=record.waited_seconds, attempt=record.attempt, rate_limited=record.rate_limited,
                max_attempts=self.policy.max_attempts,
            )  # fmt: skip

    async def _record_failed_request(self) -> None:
        transcriber = self.res.transcriber
        worker_metrics.observe_request(transcriber.name, "transcription", "error")
        await self.jobs.count_failed_request("transcription", transcriber.name, _model_of(transcriber))

    async def _record_progress(self, **changes: Any) -> None:
        async with self.record_lock:
            await self.jobs.progress(**changes)

    # -- the end -------------------------------------------------------------------------------

    async def finish(self) -> None:
        """Publish the transcript, summarise, embed, and mark the job SUCCEEDED."""
        res, jobs = self.res, self.jobs
        await jobs.advance(stage="stitching", message="Stitching the transcript.")
        started = time.monotonic()
        stitched = await jobs.publish_transcript(
            res.storage, chapter_min_silence=res.settings.chapter_min_silence_seconds
        )
        self._time("stitch_seconds", time.monotonic() - started)

        await jobs.advance(stage="summarizing", progress=0.95, message="Writing the summary and tags.")
        started = time.monotonic()
        if domain.has_speech(stitched):
            summarizer = res.summarizer
            summary = await self._ask(
                "summary",
                summarizer.name,
                _model_of(summarizer),
                "the summary",
                lambda: summarizer.summarize(stitched.text),
            )
            worker_metrics.observe_request(summary.provider, "summary", "ok")
            worker_metrics.observe_tokens(
                summary.provider, summary.model, prompt=summary.prompt_tokens, completion=summary.completion_tokens
            )
            message = await jobs.save_summary(summary)
        else:
            message = await jobs.keep_summary()
        self._time("summarize_seconds", time.monotonic() - started)
        started = time.monotonic()
        message += " " + await embedding.embed_book(res, self.job_id, self.book_id, ask=self._ask, advance=jobs.advance)
        self._time("embed_seconds", time.monotonic() - started)
        await self._end(status=JobStatus.SUCCEEDED, stage="done", progress=1.0, message=message)

    async def _end(self, **changes: Any) -> None:
        """The last change of this attempt, with its timings."""
        self._time("run_seconds", time.monotonic() - self.started)
        stage = str(changes.get("stage", "unknown"))
        worker_metrics.observe_job("succeeded" if stage == "done" else stage, self.timings)
        log.info("transcription attempt ended: %s after %.1f s", stage, self.timings["run_seconds"])
        await self.jobs.end(self.timings, **changes)

    async def fail(self, error: str) -> None:
        log.warning("job %s failed: %s", self.job_id, error)
        try:
            await self.jobs.mark_transcript_failed()
            await self._end(status=JobStatus.FAILED, stage="failed", error=error, message=error)
        except JobGone:
            pass

    async def retry_or_fail(self, exc: BaseException) -> None:
        """Raise `dramatiq.Retry` with the backoff, or fail the job when the retries are used up."""
        settings = self.res.settings
        retries = _current_retries()
        reason = str(exc) or type(exc).__name__
        if retries >= settings.job_max_retries:
            attempts = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
            await self.fail(f"Gave up after {attempts}: {reason}")
            return
        delay = retry_delay_ms(retries, getattr(exc, "retry_after", None), settings)
        message = (
            f"Attempt failed: {reason}. Retrying in {delay / 1000:.0f} s "
            f"(retry {retries + 1} of {settings.job_max_retries}); finished chunks are kept."
        )
        try:
            await self._end(status=JobStatus.QUEUED, stage="retrying", message=message)
        except Exception:  # the database may be what failed: the retry matters more than the row
            log.warning("could not record the retry of job %s", self.job_id, exc_info=True)
        raise dramatiq.Retry(message, delay=delay) from exc


# -- helpers -----------------------------------------------------------------------------------


def _model_of(client: object) -> str:
    return str(getattr(client, "model", None) or getattr(client, "name", "unknown"))


def _next_or_none(chunks: Generator[AudioChunk, None, None]) -> AudioChunk | None:
    return next(chunks, None)


def _unusable(audio_file: AudioFile, exc: Exception) -> str:
    if isinstance(exc, ObjectNotFound):
        return f"{audio_file.file_name!r} is missing from storage; upload it again."
    return str(exc)


def _located(exc: TransientAIError | PermanentAIError, where: str) -> TransientAIError | PermanentAIError:
    """The same error, saying which file and chunk it came from."""
    if isinstance(exc, TransientAIError):
        return TransientAIError(f"{where}: {exc}", exc.retry_after, rate_limited=exc.rate_limited)
    return PermanentAIError(f"{where}: {exc}")


def _worst(errors: list[BaseException]) -> BaseException:
    """The error that decides the run: gone > permanent > other > transient (longest Retry-After)."""
    for kind in (JobGone, PermanentAIError, NotAudioError):
        for exc in errors:
            if isinstance(exc, kind):
                return exc
    others = [e for e in errors if not isinstance(e, TransientAIError)]
    if others:
        return others[0]
    return max(errors, key=lambda e: getattr(e, "retry_after", None) or 0.0)
