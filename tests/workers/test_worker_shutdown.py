"""SIGTERM to a worker in the middle of a job: the job finishes, nothing is lost or repeated."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from audiocity.broker import QUEUE, make_broker
from audiocity.db import session_scope
from audiocity.events import Publisher
from audiocity.models import JobStatus
from audiocity.services import audio_files as file_service
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import worker_process
from tests.workers.conftest import TEN_SECONDS, Harness, expected_chunks, pipeline_worker_env, tone_wav, with_db
from tests.workers.test_worker_process import stored_chunks, wait_until

# Process start-up takes seconds, or minutes on a loaded shared machine.
STARTUP = 300


async def test_sigterm_lets_the_job_in_flight_finish(
    harness: Harness, fake: FakeOpenAI, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    sources = [
        tone_wav(tmp_path / "one.wav", 10, TEN_SECONDS, seed=21),
        tone_wav(tmp_path / "two.wav", 10, TEN_SECONDS, seed=22),
    ]
    expected = expected_chunks(sources, tmp_path)
    fake.latency = 0.4
    queue_url = with_db(redis_url, 14)  # a queue of its own
    broker = make_broker(queue_url)
    broker.declare_queue(QUEUE)
    broker.flush_all()
    env = pipeline_worker_env(
        harness,
        fake,
        database_url,
        queue_url,
        TRANSCRIPTION_CONCURRENCY="1",
        JOB_MAX_RETRIES="0",
        SHUTDOWN_GRACE_SECONDS="60",
    )
    log_path = tmp_path / "worker.log"
    book_id = await harness.book(sources, title="Stopped mid-job")
    async with session_scope(harness.sessions) as session:
        job = await file_service.start_transcription(session, Publisher(harness.redis), book_id, force=False)
    job_id = str(job.id)

    async def one_stored() -> bool:
        return len(await stored_chunks(harness, book_id)) >= 1

    try:
        with worker_process(env, log_path) as worker:
            await wait_until(one_stored, "the first chunk", log_path, within=STARTUP)
            assert (await harness.job(job_id)).status == JobStatus.RUNNING
            worker.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(worker.wait, 90)
        assert code == 0, log_path.read_text()
    finally:
        broker.flush_all()

    job = await harness.job(job_id)
    assert job.status == JobStatus.SUCCEEDED, (job.error, log_path.read_text()[-3000:])
    assert job.attempts == 1, "finished by the worker that was stopped, not requeued"
    assert len(await stored_chunks(harness, book_id)) == len(expected)
    sent = Counter(r.file_sha1 for r in fake.requests_for("transcriptions"))
    assert set(sent) == {c.sha1 for c in expected} and all(n == 1 for n in sent.values())
    log = log_path.read_text()
    assert "letting messages in flight finish" in log and "worker stopped" in log
