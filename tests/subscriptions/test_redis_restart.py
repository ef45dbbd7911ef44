"""Redis dies (SIGKILL) mid-job and comes back on the same socket: the stream still reaches the end."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.embedded import EmbeddedRedis, start_redis
from audiocity.events import audiobook_jobs_channel
from audiocity.models import Job
from tests.e2e.client import GraphQLClient, GraphQLSocket
from tests.e2e.server import Server, run_server
from tests.subscriptions.helpers import (
    CHUNKS,
    JOB_BY_BOOK,
    Collected,
    Gate,
    admin_token,
    create_book,
    db_id,
    gated_openai,
    run_worker,
    upload_tone,
    worker_env,
)
from tests.subscriptions.test_jobs_live import collect, wait_until


@dataclass
class Outage:
    redis_dir: Path
    redis: EmbeddedRedis
    api: Server
    worker_log: Path
    gate: Gate
    tmp: Path

    def kill_redis(self) -> None:
        assert self.redis.process is not None
        self.redis.process.send_signal(signal.SIGKILL)
        self.redis.process.wait(10)
        self.redis.socket.unlink(missing_ok=True)  # gone with the crash, as far as a restart cares

    def start_redis(self) -> None:
        self.redis = start_redis(self.redis_dir)


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Outage]:
    """A dedicated Redis (so killing it hurts no other test), one API process and one worker."""
    tmp = tmp_path_factory.mktemp("outage")
    redis = start_redis(tmp / "redis")
    state = Outage(tmp / "redis", redis, None, tmp / "worker.log", None, tmp)  # type: ignore[arg-type]
    try:
        with (
            gated_openai() as (fake, gate),
            run_server(tmp / "api", database_url, redis.url, IN_PROCESS_WORKER="0") as api,
            run_worker(worker_env(api, fake), state.worker_log) as worker,
        ):
            state.api, state.gate = api, gate
            yield state
            assert worker.poll() is None, "the worker survived the outage"
    finally:
        state.redis.stop()


async def test_killing_and_restarting_redis_mid_job_still_ends_with_the_terminal_event(
    outage: Outage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        token = await admin_token(outage.api, GraphQLClient(http, outage.api.graphql_url))
        gql = GraphQLClient(http, outage.api.graphql_url, token)
        book = await create_book(gql)
        seen = Collected([])
        async with GraphQLSocket.open(outage.api.graphql_url) as sock:
            await sock.init(token)
            watcher = asyncio.create_task(collect(sock, await sock.subscribe(JOB_BY_BOOK, audiobookId=book), seen))
            probe = aioredis.Redis.from_url(outage.redis.url)
            channel = audiobook_jobs_channel(db_id(book))
            await wait_until(lambda: _subscribed(probe, channel), "the API subscribed the book's channel")
            await probe.aclose()
            job_id = db_id(await upload_tone(gql, book, outage.tmp))
            await wait_until(lambda: any(e["job"]["chunksTotal"] for e in seen.events), "the job waits at chunk 1")

            heard = seen.events[-1]["sequence"]
            outage.kill_redis()
            outage.gate.allow(2)
            # The worker commits a step nobody can hear; its publisher keeps trying instead of failing.
            await wait_until(lambda: _sequence_past(sessions, job_id, heard), "a step was committed without Redis")
            await asyncio.to_thread(outage.start_redis)
            outage.gate.open()
            async with asyncio.timeout(90):
                await watcher

    assert seen.completed
    last = seen.events[-1]
    assert last["status"] == "SUCCEEDED" and last["job"]["chunksDone"] == CHUNKS and last["progress"] == 1.0
    sequences = [e["sequence"] for e in seen.events]
    assert sequences == sorted(set(sequences)), "in order, each step once"
    assert "event bus reconnected to Redis" in outage.api.log()


async def _subscribed(probe: aioredis.Redis, channel: str) -> bool:
    return int((await probe.pubsub_numsub(channel))[0][1]) == 1


async def _sequence_past(sessions: async_sessionmaker[AsyncSession], job_id: object, heard: int) -> bool:
    async with sessions() as s:
        sequence = await s.scalar(select(Job.sequence).where(Job.id == job_id))  # type: ignore[arg-type]
    return bool(sequence is not None and sequence > heard)
