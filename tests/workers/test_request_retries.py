"""Retries per request against a busy OpenAI-compatible server; the shared adaptive limiter."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from pathlib import Path

import redis.asyncio as aioredis
from workers.transcription import run_transcription

from audiocity.ai.limiter import AdaptiveLimiter
from audiocity.models import JobStatus
from tests.fakes.openai_server import FakeOpenAI
from tests.workers.conftest import Harness, expected_chunks, tone_wav


async def test_every_request_failing_twice_still_succeeds_with_each_chunk_sent_three_times(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path
) -> None:
    sources = [*sources, tone_wav(tmp_path / "part-3.wav", 6, [(3.4, 3.8)], seed=3)]
    expected = expected_chunks(sources, tmp_path)
    assert len({c.file_name for c in expected}) == 3 and len(expected) == 7
    fake.script_each("transcriptions", ["429", "500"], retry_after=0.05)
    fake.script_each("chat", ["429", "500"], retry_after=0.05)
    res = harness.resources(TRANSCRIPTION_CONCURRENCY=3, AI_REQUEST_MAX_ATTEMPTS=3)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(res, job_id)

    job = await harness.job(job_id)
    assert (job.status, job.error, job.attempts) == (JobStatus.SUCCEEDED, None, 1)
    assert (job.chunks_done, job.chunks_total) == (7, 7)
    requests = fake.requests_for("transcriptions")
    tries = Counter(r.file_sha1 for r in requests)
    assert tries == {c.sha1: 3 for c in expected}, "every chunk: exactly three tries, none beyond"
    successes = Counter(r.file_sha1 for r in requests if r.fault is None)
    assert successes == {c.sha1: 1 for c in expected}, "each chunk transcribed successfully exactly once"
    for chunk in expected:
        faults = [r.fault for r in requests if r.file_sha1 == chunk.sha1]
        assert faults == ["429", "500", None], chunk
    [summary_messages] = {json.dumps(r.fields["messages"], sort_keys=True) for r in fake.requests_for("chat")}
    key = "chat:" + hashlib.sha1(summary_messages.encode()).hexdigest()
    assert fake.tries_of(key) == 3, "the summary has its own budget too"

    assert len(job.retries) == 2 * 7 + 2, "every retried failure is in the history"
    assert all({"what", "error", "at", "waited_seconds", "attempt"} <= set(r) for r in job.retries)
    rate_limited = [r for r in job.retries if r["rate_limited"]]
    assert len(rate_limited) == 8 and all(r["waited_seconds"] >= 0.05 for r in rate_limited), "Retry-After honoured"
    chunk_names = Counter(r["what"].split(" (")[0] for r in job.retries if r["what"] != "the summary")
    assert chunk_names == {f"'{c.file_name}', chunk {c.index + 1}": 2 for c in expected}, "each names its chunk"
    assert sum(1 for r in job.retries if r["what"] == "the summary") == 2
    usage = job.usage["transcription"]["openai/whisper-1"]
    assert (usage["requests"], usage["failed_requests"]) == (7, 14)


async def test_a_sustained_rate_limit_slows_the_job_and_then_lets_it_finish(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path
) -> None:
    expected = expected_chunks(sources, tmp_path)
    res = harness.resources(TRANSCRIPTION_CONCURRENCY=4, AI_REQUEST_MAX_ATTEMPTS=40)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)
    limiter = res.limiters["openai"]
    other_process = AdaptiveLimiter(harness.redis, "openai", ceiling=4, cooldown_seconds=1)
    seen_by_other: list[int] = []

    async def watch() -> None:
        while True:
            seen_by_other.append(await other_process.limit())
            await asyncio.sleep(0.05)

    fake.throttle(1.5, retry_after=0.1)
    watcher = asyncio.create_task(watch())
    try:
        await run_transcription(res, job_id)
    finally:
        watcher.cancel()

    job = await harness.job(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks_done == len(expected) == 5
    assert limiter.lowest == 1, "429s halved the concurrency down to one request at a time"
    assert min(seen_by_other) < 4, "another process saw the lower limit through Redis"
    assert job.retries and all(r["rate_limited"] for r in job.retries)
    ok = [r for r in fake.requests_for("transcriptions") if r.fault is None]
    assert len(ok) == 5 and len({r.file_sha1 for r in ok}) == 5


async def test_the_limiter_halves_on_429_for_every_process_and_creeps_back(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.delete("audiocity:ai-limit:test-provider", "audiocity:ai-limit:test-provider:ok")
        one = AdaptiveLimiter(client, "test-provider", ceiling=8, cooldown_seconds=0.5)
        two = AdaptiveLimiter(client, "test-provider", ceiling=8, cooldown_seconds=0.5)
        assert await one.limit() == 8
        assert await one.rate_limited() == 4
        assert await one.rate_limited() == 2
        await asyncio.sleep(0.25)  # past the local cache
        assert await two.limit() == 2, "the other process follows through Redis"

        in_flight: list[int] = []

        async def request() -> None:
            async with two.slot():
                in_flight.append(two.in_flight)
                await asyncio.sleep(0.02)

        await asyncio.gather(*(request() for _ in range(6)))
        assert max(in_flight) == 2, "never more requests at once than the limit"

        for _ in range(2):
            await one.succeeded()
        assert await one.limit() == 3, "two successes at limit 2 raise it by one"
        await asyncio.sleep(0.6)  # the cooldown ends
        assert await two.limit() == 8
    finally:
        await client.aclose()
