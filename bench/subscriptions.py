"""Live subscriptions: many subscribers on one API process, delivery latency and memory per subscriber.

    .venv/bin/python -m bench subscriptions [--subscribers 1000] [--events 20] [--interval 0.5]
                                            [--rate 200] [--seconds 10]

Starts embedded PostgreSQL and Redis in a temp dir and one `audiocity serve` (no worker) on loopback,
then opens `--subscribers` graphql-transport-ws sockets from this process, each with one `jobUpdates`
subscription. Events are published straight to Redis from this process, as a worker does, carrying
the publish time (perf_counter_ns) in `message`; each socket notes when its copy arrives.

1. Memory: the server's VmRSS after one warm-up subscription, and again once every subscriber has its
   snapshot and has sat idle for two seconds; the difference divided by the subscribers.
2. Fan-out: all subscribers follow one job; `--events` events, `--interval` apart, each delivered to
   every subscriber (publish -> Redis -> the process's one listener -> N queues -> N sockets).
3. Spread: every subscriber follows a job of its own; events go to those jobs round-robin at
   `--rate` per second for `--seconds`.

Latency is publish to receipt by this process's client, so it includes the client's own event loop
(one Python process reading every socket) as well as the server's work; the client's garbage
collector is paused while measuring (its full collections over 1,000 sockets' objects otherwise
add 300 ms stalls that are not the server's). Server CPU per delivery comes from /proc/PID/stat.
Bounded: the run stops after a few minutes at most, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis.asyncio as aioredis
import websockets
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.e2e.client import GraphQLClient
from tests.e2e.server import run_server

from audiocity import migrate
from audiocity.db import make_engine, make_sessionmaker
from audiocity.embedded import start_postgres, start_redis
from audiocity.events import job_channel, publish
from audiocity.graphql.relay import from_global_id, to_global_id
from audiocity.models import Job
from audiocity.services.jobs import job_payload

LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"""
CREATE_BOOK = """mutation { createAudiobook(input: {title: "Bench", priceCents: 100}) { audiobook { id } } }"""
JOB_UPDATES = "subscription($jobId: ID) { jobUpdates(jobId: $jobId) { sequence message } }"
DEADLINE_SECONDS = 300


def rss(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert match is not None
    return int(match.group(1)) * 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Subscriber:
    """One socket; `latencies` collects publish-to-receipt times of events stamped by this run."""

    ws: Any
    latencies: list[float] = field(default_factory=list)
    snapshots: int = 0
    op: str = ""
    reader: asyncio.Task[None] | None = None

    async def subscribe(self, job_id: str) -> None:
        self.op = uuid.uuid4().hex
        message = {
            "id": self.op,
            "type": "subscribe",
            "payload": {"query": JOB_UPDATES, "variables": {"jobId": job_id}},
        }
        await self.ws.send(json.dumps(message))

    async def stop(self) -> None:
        await self.ws.send(json.dumps({"id": self.op, "type": "complete"}))

    async def read(self) -> None:
        async for raw in self.ws:
            received = time.perf_counter_ns()
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
            elif message["type"] == "next":
                if message.get("id") != self.op:
                    continue
                text = message["payload"]["data"]["jobUpdates"]["message"] or ""
                if text.startswith("bench:"):
                    self.latencies.append((received - int(text[6:])) / 1e6)
                else:
                    self.snapshots += 1


async def connect(url: str, token: str) -> Subscriber:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], compression=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    sub = Subscriber(ws)
    sub.reader = asyncio.create_task(sub.read())
    return sub


async def until(check: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def make_jobs(sessions: async_sessionmaker[AsyncSession], book_id: uuid.UUID, count: int) -> list[Job]:
    async with sessions() as s:
        jobs = [Job(audiobook_id=book_id, stage="queued") for _ in range(count)]
        s.add_all(jobs)
        await s.commit()
        return jobs


async def send(redis: aioredis.Redis, job: Job, sequence: int) -> None:
    job.sequence = sequence
    job.message = f"bench:{time.perf_counter_ns()}"
    await publish(redis, [job_channel(job.id)], job_payload(job))


def summary(name: str, latencies: list[float], expected: int) -> str:
    if not latencies:
        return f"{name}: nothing received"
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return (
        f"{name}: {len(ordered)}/{expected} delivered; p50 {pct(50):.1f} ms, p90 {pct(90):.1f} ms, "
        f"p99 {pct(99):.1f} ms, max {ordered[-1]:.1f} ms, mean {statistics.fmean(ordered):.1f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    n = args.subscribers
    with tempfile.TemporaryDirectory(prefix="bench-subs-") as tmp:
        root = Path(tmp)
        postgres = await asyncio.to_thread(start_postgres, root / "db")
        redis_server = await asyncio.to_thread(start_redis, root / "db")
        await asyncio.to_thread(migrate.upgrade, postgres.url)
        engine = make_engine(postgres.url)
        redis = aioredis.Redis.from_url(redis_server.url)
        try:
            with run_server(
                root / "api", postgres.url, redis_server.url, IN_PROCESS_WORKER="0", LOG_LEVEL="WARNING"
            ) as server:
                made = server.cli("create-admin", "--email", "bench@example.com", "--password", "bench password 1")
                assert made.returncode == 0, made.stderr
                async with httpx.AsyncClient(timeout=60) as http:
                    anon = GraphQLClient(http, server.graphql_url)
                    login = await anon(LOGIN, e="bench@example.com", p="bench password 1")
                    token = login["login"]["accessToken"]
                    book = (await GraphQLClient(http, server.graphql_url, token)(CREATE_BOOK))["createAudiobook"]
                book_id = from_global_id(book["audiobook"]["id"])[1]
                jobs = await make_jobs(make_sessionmaker(engine), book_id, n + 1)
                shared, own = jobs[0], jobs[1:]
                shared_id = to_global_id("Job", shared.id)
                pid = server.process.pid

                warm = await connect(server.ws_url, token)
                await warm.subscribe(shared_id)
                await until(lambda: warm.snapshots == 1, "the warm-up snapshot")
                await send(redis, shared, 1)
                await until(lambda: len(warm.latencies) == 1, "the warm-up event")
                await asyncio.sleep(2)
                baseline = rss(pid)

                # 1. connect and subscribe everyone to the shared job
                gate = asyncio.Semaphore(50)

                async def join() -> Subscriber:
                    async with gate:
                        sub = await connect(server.ws_url, token)
                        await sub.subscribe(shared_id)
                        return sub

                began = time.perf_counter()
                subs = await asyncio.gather(*(join() for _ in range(n)))
                await until(lambda: all(s.snapshots == 1 for s in subs), "every snapshot")
                joined = time.perf_counter() - began
                await asyncio.sleep(2)
                idle = rss(pid)
                print(f"{n} subscribers connected and snapshotted in {joined:.1f} s")
                print(
                    f"server RSS: {baseline / 2**20:.1f} MiB -> {idle / 2**20:.1f} MiB idle with {n} subscribers: "
                    f"{(idle - baseline) / n / 1024:.1f} KiB per idle subscriber"
                )

                gc.collect()
                gc.freeze()
                gc.disable()

                # 2. fan-out: one job, everyone follows it
                cpu = cpu_seconds(pid)
                for sequence in range(2, args.events + 2):
                    await send(redis, shared, sequence)
                    await asyncio.sleep(args.interval)
                expected = n * args.events
                await until(lambda: sum(len(s.latencies) for s in subs) >= expected, "fan-out deliveries", 30)
                fan_out = [x for s in subs for x in s.latencies]
                print(summary(f"fan-out ({n} subscribers x {args.events} events)", fan_out, expected))
                per_delivery = (cpu_seconds(pid) - cpu) / max(1, len(fan_out)) * 1000
                print(f"server CPU per fan-out delivery: {per_delivery:.2f} ms")
                peak = rss(pid)

                # 3. spread: a job each, events round-robin at a steady rate
                for sub, job in zip(subs, own, strict=True):
                    sub.latencies.clear()
                    sub.snapshots = 0
                    await sub.stop()
                    await sub.subscribe(to_global_id("Job", job.id))
                await until(lambda: all(s.snapshots == 1 for s in subs), "every snapshot of its own job")
                total = int(args.rate * args.seconds)
                cpu = cpu_seconds(pid)
                start = time.perf_counter()
                for k in range(total):
                    await asyncio.sleep(max(0.0, start + k / args.rate - time.perf_counter()))
                    await send(redis, own[k % n], 2 + k // n)
                await until(lambda: sum(len(s.latencies) for s in subs) >= total, "spread deliveries", 30)
                spread = [x for s in subs for x in s.latencies]
                name = f"spread ({args.rate:.0f} events/s over {n} jobs for {args.seconds:.0f} s)"
                print(summary(name, spread, total))
                per_delivery = (cpu_seconds(pid) - cpu) / max(1, len(spread)) * 1000
                print(f"server CPU per spread delivery: {per_delivery:.2f} ms (idle sockets' pings included)")
                gc.enable()
                print(f"server RSS after the load: {max(peak, rss(pid)) / 2**20:.1f} MiB")

                for sub in [warm, *subs]:
                    await sub.ws.close()
                    if sub.reader is not None:
                        sub.reader.cancel()
        finally:
            await redis.aclose()
            await engine.dispose()
            await asyncio.to_thread(redis_server.stop)
            await asyncio.to_thread(postgres.stop)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench subscriptions", description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    asyncio.run(asyncio.wait_for(run(args), DEADLINE_SECONDS))


if __name__ == "__main__":
    main(sys.argv[1:])
