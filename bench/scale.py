"""Scaling on one machine: 1, 2 and 4 API processes, then 1, 2 and 4 worker processes.

    python -m bench scale [--api 1,2,4] [--workers 1,2,4] [--seconds 8] [--clients 16]
                          [--jobs 6] [--minutes 4] [--chunk-seconds 120] [--latency 2.0]

Everything shares one PostgreSQL and one Redis (embedded, or DATABASE_URL / REDIS_URL).

API: `audiocity serve --workers N` (uvicorn's supervisor with N API processes sharing the port, metrics
in multiprocess mode; compose runs the same with `uvicorn --workers N`) answering catalog pages (20
books with authors, narrators, files and categories) from `--clients` concurrent loopback clients for
`--seconds` each in two phases: `cached` (anonymous: the response cache answers) and `executed` (a
signed-in customer: never cached, resolvers and PostgreSQL every time). Reported per phase: requests
per second, p50 and p99 latency; and the sum of `audiocity_graphql_operations_total` across the
processes (operations executed: the signed-in requests plus the few cache misses; a cache hit
executes nothing), a check that multiprocess metrics add up.

Workers: `--jobs` books of one `--minutes` WAV file each (cut into `--chunk-seconds` chunks) queued at
once, then N `audiocity worker` processes (one actor thread each) against the fake OpenAI server,
which answers every transcription after `--latency` seconds. Reported: wall time until every job
SUCCEEDED, jobs per minute and the mean job run time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.transcription import SECRET, FakeProcess, create_book, delete_book, job_row, start_worker, write_book_file

ROOT = Path(__file__).resolve().parents[1]
PAGE = """query Catalog { audiobooks(first: 20) { totalCount edges { node {
  id title authors narrators price { amountCents currency } categories { name } files { id durationSeconds } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_", "REDIS_", "OTEL_"))}
    return env | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AUDIOCITY_DATA_DIR": str(data_dir),
        "SECRET_KEY": SECRET,
        "IN_PROCESS_WORKER": "0",
        "LOG_LEVEL": "WARNING",
        # One loopback client sends everything: the per-client limits would measure themselves.
        "RATE_LIMIT_OPERATIONS_PER_CLIENT": "0/1",
        "RATE_LIMIT_COST_PER_CLIENT": "0/1",
    }


async def seed_catalog(database_url: str, count: int) -> None:
    """`count` published books with an author, a narrator and a category each."""
    from audiocity.db import make_engine, make_sessionmaker, session_scope
    from audiocity.models import Audiobook
    from audiocity.services import catalog

    engine = make_engine(database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            for n in range(count):
                book = await catalog.create_audiobook(
                    s, catalog.AudiobookInput(
                        title=f"Scale book {n}", authors=[f"Author {n % 17}"], narrators=[f"Narrator {n % 5}"],
                        categories=[f"Category {n % 7}"], price_cents=500 + n,
                    ),
                )  # fmt: skip
                row = await s.get(Audiobook, book.id)
                assert row is not None
                row.published = True
    finally:
        await engine.dispose()


async def load(url: str, seconds: float, clients: int, token: str | None = None) -> tuple[float, list[float]]:
    """`clients` connections sending the page one after another for `seconds`; (elapsed, latencies)."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": PAGE, "operationName": "Catalog"}

    async def client(http: httpx.AsyncClient, deadline: float) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await http.post(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            assert "errors" not in response.json(), response.text

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http, started + seconds) for _ in range(clients)))
        return time.perf_counter() - started, latencies


def _summary(elapsed: float, latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def customer_token(database_url: str) -> str:
    """A signed-in customer's access token: its requests skip the response cache."""
    from audiocity.auth.tokens import create_access_token

    async def make() -> uuid.UUID:
        from audiocity.db import make_engine, make_sessionmaker, session_scope
        from audiocity.models import Role, User

        engine = make_engine(database_url, pool_size=1)
        try:
            async with session_scope(make_sessionmaker(engine)) as s:
                user = User(email=f"scale-{uuid.uuid4().hex[:8]}@example.com", display_name="Scale", role=Role.CUSTOMER)
                s.add(user)
                await s.flush()
                return user.id
        finally:
            await engine.dispose()

    return create_access_token(SECRET, asyncio.run(make()), "CUSTOMER", 3600)


def run_api(processes: int, env: dict[str, str], work: Path, args: argparse.Namespace, token: str) -> dict[str, Any]:
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="prom-", dir=work))
    log_path = work / f"api-{processes}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "audiocity.cli", "serve", f"--workers={processes}"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "HOST": "127.0.0.1", "PORT": str(port)},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        deadline = started + 600  # minutes on a loaded shared machine
        ready = 0
        while ready < 3:  # several answers in a row: every process has started
            try:
                ready = ready + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
            except httpx.HTTPError:
                ready = 0
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"API did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.5)
        startup = time.monotonic() - started
        _, warm = asyncio.run(load(f"{base}/graphql", 2, args.clients, token))  # every process, both paths
        _, warm_cached = asyncio.run(load(f"{base}/graphql", 1, args.clients))
        cached = _summary(*asyncio.run(load(f"{base}/graphql", args.seconds, args.clients)))
        executed = _summary(*asyncio.run(load(f"{base}/graphql", args.seconds, args.clients, token)))
        text = httpx.get(f"{base}/metrics", timeout=10).text
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("audiocity_graphql_operations_total{") and 'operation="Catalog"' in line
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
    return {
        "processes": processes,
        "startup": startup,
        "cached": cached,
        "executed": executed,
        "counted": counted,
        "sent": len(warm) + len(warm_cached) + cached["requests"] + executed["requests"],
        "uncached": len(warm) + executed["requests"],  # cache hits execute nothing, so count nothing
    }


def run_workers(
    processes: int, env: dict[str, str], database_url: str, work: Path, source: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from audiocity import tasks

    fake = FakeProcess(args.latency)
    created = [asyncio.run(create_book(database_url, work / "data", [source])) for _ in range(args.jobs)]
    env = env | {
        "OPENAI_API_KEY": "bench",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
        "WORKER_THREADS": "1",
        "TRANSCRIPTION_CONCURRENCY": "2",
        "TRANSCRIPTION_CHUNK_SECONDS": str(args.chunk_seconds),
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "INFO",
    }
    workers = [start_worker(env, work / f"worker-{processes}-{n}.log") for n in range(processes)]
    rows: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        for _book, job_id in created:
            tasks.send(tasks.TRANSCRIBE_AUDIOBOOK, job_id)
        while True:
            rows = [asyncio.run(job_row(database_url, job_id)) for _book, job_id in created]
            if all(r["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") for r in rows):
                break
            if time.monotonic() - started > 1800:
                raise RuntimeError("jobs did not finish in 30 minutes")
            time.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
        fake.stop()
    for book_id, _job in created:
        asyncio.run(delete_book(database_url, work / "data", book_id))
    failed = [r for r in rows if r["status"] != "SUCCEEDED"]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs did not succeed: {failed[0]['error']}")
    run_times = [float(r["usage"]["timings"]["run_seconds"]) for r in rows]
    return {
        "processes": processes,
        "wall": wall,
        "jobs_per_minute": len(rows) / wall * 60,
        "mean_job": statistics.mean(run_times),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench scale", description=__doc__.splitlines()[0])
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    parser.add_argument("--api", type=ints, default=[1, 2, 4])
    parser.add_argument("--workers", type=ints, default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=8, help="load per phase and process count")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--books", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=4)
    parser.add_argument("--chunk-seconds", type=int, default=120)
    parser.add_argument("--latency", type=float, default=2.0)
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    from audiocity import migrate
    from audiocity.broker import QUEUE, make_broker
    from audiocity.embedded import start_postgres, start_redis

    args = parse(argv)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="audiocity-scale-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # the embedded PostgreSQL runs as its own user when started as root
        servers: list[Any] = []
        database_url = os.environ.get("DATABASE_URL") or ""
        redis_url = os.environ.get("REDIS_URL") or ""
        if not database_url:
            servers.append(start_postgres(work / "data"))
            database_url = servers[-1].url
        if not redis_url:
            servers.append(start_redis(work / "data"))
            redis_url = servers[-1].url
        try:
            migrate.upgrade(database_url)
            env = base_env(database_url, redis_url, work / "data")
            if args.api:
                asyncio.run(seed_catalog(database_url, args.books))
                token = customer_token(database_url)
            for n in args.api:
                r = run_api(n, env, work, args, token)
                phases = "; ".join(
                    f"{name} {p['rps']:.1f} req/s (p50 {p['p50']:.0f} ms, p99 {p['p99']:.0f} ms)"
                    for name, p in (("cached", r["cached"]), ("executed", r["executed"]))
                )
                print(
                    f"api processes={r['processes']} (ready in {r['startup']:.0f} s): {phases}; "
                    f"{r['sent']} requests sent, {r['uncached']} of them signed in; "
                    f"operations executed by the metrics {r['counted']:.0f} (the signed-in + cache misses)",
                    flush=True,
                )
            if args.workers:
                broker = make_broker(redis_url)
                broker.declare_queue(QUEUE)
                source = write_book_file(work / "book.wav", args.minutes * 60, seed=1)
            for n in args.workers:
                r = run_workers(n, env, database_url, work, source, args)
                print(
                    f"worker processes={r['processes']}: {args.jobs} jobs in {r['wall']:.1f} s, "
                    f"{r['jobs_per_minute']:.1f} jobs/min, mean job {r['mean_job']:.1f} s",
                    flush=True,
                )
        finally:
            for server in servers:
                server.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
