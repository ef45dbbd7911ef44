"""No job is lost after its commit: the outbox relay sends what the commit's own send could not.

Real processes and servers: a dedicated embedded Redis stopped at the commit and started again, a
process SIGKILLed between its commit and its send, and an `audiocity worker` whose relay finds the
unsent rows and whose actors then finish the jobs on the fake OpenAI server.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import dramatiq.broker
import pytest
from sqlalchemy import delete, select

from audiocity.broker import make_broker
from audiocity.db import session_scope
from audiocity.embedded import start_redis
from audiocity.events import Publisher
from audiocity.models import Job, JobStatus, OutboxMessage
from audiocity.services import audio_files as file_service
from audiocity.services import outbox
from audiocity.tasks import QUEUE, TRANSCRIBE_AUDIOBOOK
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import worker_process
from tests.workers.conftest import TEN_SECONDS, Harness, pipeline_worker_env, tone_wav, with_db
from tests.workers.test_worker_process import wait_until


async def unsent(harness: Harness, job_id: uuid.UUID | str) -> list[OutboxMessage]:
    async with harness.sessions() as session:
        rows = await outbox.pending(session, TRANSCRIBE_AUDIOBOOK)
    return [r for r in rows if r.args == [str(job_id)]]


async def finish_with_worker(
    harness: Harness, fake: FakeOpenAI, database_url: str, queue_url: str, job_id: str, tmp_path: Path
) -> Job:
    log_path = tmp_path / "worker.log"
    async with session_scope(harness.sessions) as session:  # only this job's row: no other test's work
        await session.execute(delete(OutboxMessage).where(OutboxMessage.args != [job_id]))  # type: ignore[arg-type]

    async def finished() -> bool:
        return (await harness.job(job_id)).status.terminal

    env = pipeline_worker_env(harness, fake, database_url, queue_url, OUTBOX_RELAY_INTERVAL_SECONDS="0.2")
    with worker_process(env, log_path, clean_outbox=False):
        await wait_until(finished, "the worker to finish the job", log_path)
    return await harness.job(job_id)


async def test_the_relay_sends_what_was_left_and_keeps_what_it_cannot_send(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No broker in this process, as in an API whose Redis is down: the commit's fast path cannot send,
    # so the row is the relay's (an earlier test may have set a global broker).
    monkeypatch.setattr(dramatiq.broker, "global_broker", None)
    async with session_scope(harness.sessions) as session:
        await session.execute(delete(OutboxMessage))
        row = await outbox.add(session, "some_actor", "a", 1)
    sent: list[tuple[str, list[Any], int | None]] = []

    def broken(actor: str, args: list[Any], delay: int | None) -> None:
        raise ConnectionError("broker down")

    later = row.created_at + outbox.RELAY_GRACE
    async with session_scope(harness.sessions) as session:
        assert await outbox.relay(session, broken, now=later) == 0
    async with session_scope(harness.sessions) as session:
        assert await outbox.relay(session, lambda *a: sent.append(a), now=row.created_at) == 0, "too young"
        assert await outbox.relay(session, lambda *a: sent.append(a), now=later) == 1
    assert sent == [("some_actor", ["a", 1], None)]
    async with harness.sessions() as session:
        assert await outbox.pending(session) == []


async def test_start_transcription_sends_a_queued_jobs_message_again(
    harness: Harness, sources: list[Path], broker: Any
) -> None:
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)  # queued, but its message is gone
    assert broker.client.llen(f"{broker.namespace}:{QUEUE}") == 0

    async with session_scope(harness.sessions) as session:
        again = await file_service.start_transcription(session, Publisher(harness.redis), book_id, force=False)

    assert str(again.id) == job_id, "the same queued job"
    assert broker.client.llen(f"{broker.namespace}:{QUEUE}") == 1, "its message was sent again"
    assert await unsent(harness, job_id) == []


async def test_redis_down_at_the_commit_and_back_later_the_job_still_succeeds(
    harness: Harness, fake: FakeOpenAI, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    redis_dir = tmp_path / "redis"
    server = start_redis(redis_dir)
    url = server.url
    make_broker(url)  # this process's broker is the one that goes down
    try:
        book_id = await harness.book([tone_wav(tmp_path / "a.wav", 10, TEN_SECONDS, seed=31)])
        server.stop()
        async with session_scope(harness.sessions) as session:  # what an upload's commit does
            job = await file_service.queue_transcription(session, Publisher(harness.redis), book_id)
        assert [r.args for r in await unsent(harness, job.id)] == [[str(job.id)]], "the promise survived"
        assert (await harness.job(str(job.id))).status == JobStatus.QUEUED

        server = start_redis(redis_dir)
        done = await finish_with_worker(harness, fake, database_url, url, str(job.id), tmp_path)
    finally:
        server.stop()
        make_broker(redis_url)  # later tests send through the suite's Redis again

    assert done.status == JobStatus.SUCCEEDED, done.error
    assert (done.attempts, done.chunks_done) == (1, 3)
    assert await unsent(harness, job.id) == []


KILLED_AFTER_COMMIT = """
import asyncio, os, signal, sys, uuid
import redis.asyncio as aioredis
from audiocity.db import after_commit, make_engine, make_sessionmaker, session_scope
from audiocity.events import Publisher
from audiocity.broker import make_broker
from audiocity.services import audio_files

async def main(database_url, redis_url, book_id):
    make_broker(redis_url)  # a working broker: only the kill stops the send
    sessions = make_sessionmaker(make_engine(database_url))
    async with session_scope(sessions) as session:
        async def die():
            os.kill(os.getpid(), signal.SIGKILL)
        after_commit(session, die)  # runs first after the commit, before the job's own send
        job = await audio_files.queue_transcription(
            session, Publisher(aioredis.Redis.from_url(redis_url)), uuid.UUID(book_id)
        )
        print(job.id, flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_process_killed_between_commit_and_send_loses_no_job(
    harness: Harness, fake: FakeOpenAI, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    queue_url = with_db(redis_url, 13)
    broker = make_broker(queue_url)
    broker.declare_queue(QUEUE)
    broker.flush_all()
    book_id = await harness.book([tone_wav(tmp_path / "b.wav", 10, TEN_SECONDS, seed=32)])
    try:
        killed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", KILLED_AFTER_COMMIT, database_url, queue_url, str(book_id)],
            capture_output=True,
            timeout=120,
        )
        assert killed.returncode == -9, killed.stderr.decode()
        job_id = killed.stdout.decode().strip()
        async with harness.sessions() as session:
            job = (await session.execute(select(Job).where(Job.id == uuid.UUID(job_id)))).scalar_one()
        assert job.status == JobStatus.QUEUED, "committed"
        assert broker.client.llen(f"{broker.namespace}:{QUEUE}") == 0, "but never sent"
        assert len(await unsent(harness, job_id)) == 1

        done = await finish_with_worker(harness, fake, database_url, queue_url, job_id, tmp_path)
    finally:
        broker.flush_all()
        make_broker(redis_url)

    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.chunks_done == 3
    assert await unsent(harness, job_id) == []


@pytest.fixture(autouse=True)
def _quiet_fake(fake: FakeOpenAI) -> None:
    fake.reset()
