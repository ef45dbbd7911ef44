"""A real `audiocity worker` process, killed with SIGKILL mid-job and replaced by a new one."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from workers.transcription import run_transcription

from audiocity.broker import QUEUE, make_broker
from audiocity.db import session_scope
from audiocity.events import Publisher
from audiocity.models import JobStatus
from audiocity.services import audio_files as file_service
from audiocity.services import transcripts
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import worker_process
from tests.workers.conftest import TEN_SECONDS, Harness, expected_chunks, pipeline_worker_env, tone_wav, with_db

CONCURRENCY = 2
DEADLINE_SECONDS = 90


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, log_path: Path, within: float = DEADLINE_SECONDS
) -> None:
    """Poll `condition()` until it is true; fail with the worker log if it never is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            log = await asyncio.to_thread(log_path.read_text, errors="replace")
            raise AssertionError(f"timed out waiting for {what}; worker log:\n{log}")
        await asyncio.sleep(0.05)


async def test_a_killed_worker_loses_nothing_and_repeats_nothing(
    harness: Harness, fake: FakeOpenAI, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    sources = [
        tone_wav(tmp_path / "one.wav", 10, TEN_SECONDS, seed=11),
        tone_wav(tmp_path / "two.wav", 10, TEN_SECONDS, seed=12),
        tone_wav(tmp_path / "three.wav", 6, [(3.4, 3.8)], seed=13),
    ]
    expected = expected_chunks(sources, tmp_path)
    assert len(expected) == 8

    # The uninterrupted run, in-process, on a copy of the book: what the transcript must equal.
    reference_book = await harness.book(sources, title="Reference")
    await run_transcription(
        harness.resources(TRANSCRIPTION_CONCURRENCY=CONCURRENCY), await harness.queue(reference_book)
    )
    async with harness.sessions() as session:
        reference = await transcripts.get_transcript(session, reference_book)
    assert reference is not None
    fake.reset()
    fake.latency = 0.4

    queue_url = with_db(redis_url, 12)  # a queue of its own: no other test's messages, none left for them
    broker = make_broker(queue_url)
    broker.declare_queue(QUEUE)
    broker.flush_all()
    env = pipeline_worker_env(
        harness,
        fake,
        database_url,
        queue_url,
        TRANSCRIPTION_CONCURRENCY=str(CONCURRENCY),
        JOB_MAX_RETRIES="0",
        # A killed worker's message goes back to the queue once its heartbeat is 1 s old, and every
        # broker call looks for such workers (production: 60 s and 1%).
        DRAMATIQ_HEARTBEAT_TIMEOUT_MS="1000",
        DRAMATIQ_MAINTENANCE_CHANCE="1000000",
    )
    log_path = tmp_path / "worker.log"
    book_id = await harness.book(sources, title="Killed mid-job")
    async with session_scope(harness.sessions) as session:
        job = await file_service.start_transcription(session, Publisher(harness.redis), book_id, force=False)
    job_id = str(job.id)

    async def at_least_three_stored() -> bool:
        return len(await stored_chunks(harness, book_id)) >= 3

    async def finished() -> bool:
        return (await harness.job(job_id)).status.terminal

    try:
        with worker_process(env, log_path) as first:
            await wait_until(at_least_three_stored, "three chunks from the first worker", log_path)
            first.send_signal(signal.SIGKILL)
            first.wait()
        stored_before_kill = await stored_chunks(harness, book_id)
        killed_job = await harness.job(job_id)
        assert killed_job.status == JobStatus.RUNNING, "the kill left the job unfinished"

        with worker_process(env, log_path):
            await wait_until(finished, "the second worker to finish the job", log_path)
    finally:
        broker.flush_all()

    assert 3 <= len(stored_before_kill) < len(expected)
    job = await harness.job(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.attempts, job.chunks_done, job.chunks_total) == (2, 8, 8)

    sent = Counter(r.file_sha1 for r in fake.requests_for("transcriptions"))
    assert set(sent) == {c.sha1 for c in expected}, "every chunk was transcribed"
    for chunk in expected:
        if (chunk.file_name, chunk.index) in stored_before_kill:
            assert sent[chunk.sha1] == 1, f"{chunk} finished before the kill and was sent again"
    assert all(n <= 2 for n in sent.values()), "only chunks in flight at the kill are sent twice"

    async with harness.sessions() as session:
        transcript = await transcripts.get_transcript(session, book_id)
    assert transcript is not None
    assert (transcript.text, transcript.vtt) == (reference.text, reference.vtt)
    assert len(fake.requests_for("chat")) == 1


async def stored_chunks(harness: Harness, book_id: uuid.UUID) -> set[tuple[str, int]]:
    """(file name, chunk index) of every chunk stored for the book."""
    async with harness.sessions() as session:
        files = await file_service.files_of_book(session, book_id)
        chunks = await transcripts.chunks_of_files(session, [f.id for f in files])
    names = {f.id: f.file_name for f in files}
    return {(names[file_id], c.chunk_index) for file_id, found in chunks.items() for c in found}
