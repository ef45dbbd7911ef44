"""Job progress over real sockets: two API processes, one worker process, one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from audiocity.events import audiobook_jobs_channel
from tests.e2e.client import GraphQLClient, GraphQLSocket
from tests.subscriptions.conftest import Stack
from tests.subscriptions.helpers import (
    CHUNKS,
    JOB_BY_BOOK,
    JOB_BY_ID,
    Collected,
    create_book,
    db_id,
    step,
    upload_tone,
)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def wait_until(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Poll for up to a minute: the job moves in another process."""
    for _ in range(3000):
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {what}")


async def collect(sock: GraphQLSocket, op_id: str, into: Collected) -> None:
    async for payload in sock.payloads(op_id):
        assert "errors" not in payload, payload
        into.events.append(payload["data"]["jobUpdates"])
    into.completed = True


def contiguous(events: list[dict[str, Any]]) -> bool:
    sequences = [e["sequence"] for e in events]
    return sequences == list(range(sequences[0], sequences[0] + len(sequences)))


async def test_two_api_processes_show_the_same_steps_and_a_reconnect_gets_the_snapshot_and_the_rest(
    stack: Stack, admin: str, http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    stack.gate.close()
    gql = GraphQLClient(http, stack.a.graphql_url, admin)
    book = await create_book(gql)
    on_a, on_b = Collected([]), Collected([])
    async with (
        GraphQLSocket.open(stack.a.graphql_url) as socket_a,
        GraphQLSocket.open(stack.b.graphql_url) as socket_b,
    ):
        for sock in (socket_a, socket_b):
            assert (await sock.init(admin))["type"] == "connection_ack"
        watchers = [
            asyncio.create_task(collect(socket_a, await socket_a.subscribe(JOB_BY_BOOK, audiobookId=book), on_a)),
            asyncio.create_task(collect(socket_b, await socket_b.subscribe(JOB_BY_BOOK, audiobookId=book), on_b)),
        ]
        channel = audiobook_jobs_channel(db_id(book))
        await wait_until(lambda: _numsub(redis, channel, 2), "both API processes subscribed the book's channel")

        job_id = await upload_tone(gql, book, stack.tmp)

        # A client follows the job by id on `a` until the worker waits at its first chunk, then leaves.
        async with GraphQLSocket.open(stack.a.graphql_url) as client:
            await client.init(admin)
            first_visit: list[dict[str, Any]] = []
            async for payload in client.payloads(await client.subscribe(JOB_BY_ID, jobId=job_id)):
                first_visit.append(payload["data"]["jobUpdates"])
                if first_visit[-1]["job"]["chunksTotal"] > 0:
                    break
        # Two chunks go by while it is away.
        stack.gate.allow(2)
        await wait_until(lambda: any(e["job"]["chunksDone"] == 2 for e in on_a.events), "two chunks were done")

        # It comes back on the other API process: the snapshot, then everything after it.
        async with GraphQLSocket.open(stack.b.graphql_url) as client:
            await client.init(admin)
            second_visit: list[dict[str, Any]] = []
            stream = client.payloads(await client.subscribe(JOB_BY_ID, jobId=job_id))
            snapshot = (await anext(stream))["data"]["jobUpdates"]
            assert snapshot["status"] == "RUNNING" and snapshot["job"]["chunksDone"] == 2
            assert snapshot["sequence"] > first_visit[-1]["sequence"] + 1, "the missed steps are in the snapshot"
            stack.gate.open()
            second_visit = [snapshot] + [p["data"]["jobUpdates"] async for p in stream]

        async with asyncio.timeout(60):
            await asyncio.gather(*watchers)

    assert on_a.completed and on_b.completed, "the streams end after the terminal event"
    steps = [step(e) for e in on_a.events]
    assert [step(e) for e in on_b.events] == steps, "both API processes show the same steps"
    assert on_a.events[0]["status"] == "QUEUED" and on_a.events[0]["sequence"] == 0
    assert contiguous(on_a.events), "no step is missing"
    assert on_a.events[-1]["status"] == "SUCCEEDED" and on_a.events[-1]["progress"] == 1.0
    done = [e["job"]["chunksDone"] for e in on_a.events]
    assert done == sorted(done) and done[-1] == CHUNKS
    progress = [e["progress"] for e in on_a.events]
    assert progress == sorted(progress)

    first = [step(e) for e in first_visit]
    start = steps.index(first[0])
    assert steps[start : start + len(first)] == first
    resumed = [step(e) for e in second_visit]
    assert steps[steps.index(resumed[0]) :] == resumed, "after the snapshot, every later step"

    async with GraphQLSocket.open(stack.b.graphql_url) as late:
        await late.init(admin)
        # A finished job by id: its final state, then the stream completes.
        seen = [p["data"]["jobUpdates"] async for p in late.payloads(await late.subscribe(JOB_BY_ID, jobId=job_id))]
        assert [step(e) for e in seen] == [steps[-1]]
        # By audiobook: the finished job, then the book's next job until it ends.
        by_book = late.payloads(await late.subscribe(JOB_BY_BOOK, audiobookId=book))
        assert step((await anext(by_book))["data"]["jobUpdates"]) == steps[-1]
        next_job = await upload_tone(gql, book, stack.tmp)
        following = [p["data"]["jobUpdates"] async for p in by_book]
    assert {e["job"]["id"] for e in following} == {next_job}
    assert following[0]["status"] == "QUEUED" and following[-1]["status"] == "SUCCEEDED"
    assert contiguous(following)


RETRY_FIELDS = "attempts retries { what error at waitedSeconds attempt rateLimited }"
RETRIES_BY_ID = (
    "subscription($jobId: ID) { jobUpdates(jobId: $jobId) { status sequence job { " + RETRY_FIELDS + " } } }"
)
JOB_QUERY = "query($id: ID!) { job(id: $id) { status " + RETRY_FIELDS + " } }"


async def test_retried_requests_show_in_the_job_and_in_its_updates(
    stack: Stack, admin: str, http: httpx.AsyncClient
) -> None:
    stack.gate.open()
    stack.fake.fail_next("transcriptions", "429", retry_after=0.2)
    stack.fake.fail_next("transcriptions", "500")
    gql = GraphQLClient(http, stack.a.graphql_url, admin)
    book = await create_book(gql)
    job_id = await upload_tone(gql, book, stack.tmp)
    async with GraphQLSocket.open(stack.b.graphql_url) as sock:
        await sock.init(admin)
        events = [
            p["data"]["jobUpdates"] async for p in sock.payloads(await sock.subscribe(RETRIES_BY_ID, jobId=job_id))
        ]

    assert events[-1]["status"] == "SUCCEEDED"
    history = [len(e["job"]["retries"]) for e in events]
    assert history == sorted(history) and history[-1] == 2, "each retry arrives as an update"
    first, second = events[-1]["job"]["retries"]
    assert first["what"].startswith("'") and ", chunk 1 (0:00-" in first["what"]
    assert (first["attempt"], first["rateLimited"], second["attempt"], second["rateLimited"]) == (1, True, 2, False)
    assert "HTTP 429" in first["error"] and "HTTP 500" in second["error"]
    assert first["waitedSeconds"] >= 0.2, "Retry-After is the minimum wait"
    assert first["at"] <= second["at"]
    job = (await gql(JOB_QUERY, id=job_id))["job"]
    assert job == {"status": "SUCCEEDED", "attempts": 1, "retries": [first, second]}


async def _numsub(redis: aioredis.Redis, channel: str, count: int) -> bool:
    return int((await redis.pubsub_numsub(channel))[0][1]) == count


async def test_an_unknown_job_and_bad_arguments_are_clear_errors(stack: Stack, admin: str) -> None:
    async with GraphQLSocket.open(stack.a.graphql_url) as sock:
        await sock.init(admin)
        unknown = "Sm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"  # Job:00000000-...
        for variables in ({"jobId": unknown}, {}):
            message = await sock.message(await sock.subscribe(JOB_BY_ID, **variables))
            errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", message
