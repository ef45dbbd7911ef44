"""Transcription benchmark: a 10-hour book through the fake OpenAI server, and local Whisper speed.

    python -m bench transcription [--hours 10] [--files 10] [--latency 10] [--concurrency 4,8,16]
                                  [--skip-openai] [--skip-local]

OpenAI path: the real pipeline in a real `audiocity worker` process (Dramatiq, Redis, PostgreSQL,
local storage, the `openai` SDK) against the fake server in its own process, which answers every
transcription after a fixed `--latency`. The book is `--files` WAV files (16 kHz mono, generated
cheaply) adding up to `--hours`; the worker really cuts them into <= 10-minute chunks at quiet
points. Reported: wall time from enqueue to SUCCEEDED and the transcription window (first request
sent to last answer) against the ideal `ceil(chunks / concurrency) * latency`.

Local path: faster-whisper tiny.en (int8, LOCAL_WHISPER_THREADS threads) on the committed speech
fixtures joined into one clip of a few minutes, as a multiple of real time, with its word error rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16_000
SECRET = "bench-secret-key-0123456789abcdef0123456789"


# -- the fake server, in a process of its own --------------------------------------------------


def serve_fake(latency: float) -> None:
    """Child process: run the fake, print its URL, and print the recorded requests on `dump`."""
    from tests.fakes.openai_server import FakeOpenAI

    fake = FakeOpenAI()
    fake.latency_for = lambda data, name: latency  # transcriptions only; the summary answers at once
    fake.start()
    print(fake.base_url, flush=True)
    for line in sys.stdin:
        if line.strip() == "dump":
            records = [
                {"endpoint": r.endpoint, "started": r.started, "finished": r.finished, "sha1": r.file_sha1}
                for r in fake.requests
            ]
            print(json.dumps({"now": time.monotonic(), "requests": records}), flush=True)
    fake.stop()


class FakeProcess:
    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.transcription", "--serve-fake", str(latency)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the fake OpenAI server did not start")

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests, with times shifted onto this process's monotonic clock."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("dump\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        shift = time.monotonic() - answer["now"]  # both are CLOCK_MONOTONIC on Linux: ~0
        for r in answer["requests"]:
            r["started"] += shift
            r["finished"] = r["finished"] + shift if r["finished"] is not None else None
        return list(answer["requests"])

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- audio ---------------------------------------------------------------------------------------


def write_book_file(path: Path, seconds: float, seed: int) -> Path:
    """A tone with noise and a short pause every ~5 minutes, written in one-minute blocks (cheap)."""
    rng = np.random.default_rng(seed)
    t = np.arange(60 * SAMPLE_RATE) / SAMPLE_RATE
    base = (0.45 + 0.2 * np.sin(2 * np.pi * 0.7 * t)) * np.sin(2 * np.pi * 220 * t)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for minute in range(math.ceil(seconds / 60)):
            block = base + rng.normal(0, 0.05, base.size)
            if minute % 5 == 4:
                block[-SAMPLE_RATE // 2 :] = 0.0
            length = int(min(60.0, seconds - minute * 60) * SAMPLE_RATE)
            out.writeframes((np.clip(block[:length], -1, 1) * 32767).astype("<i2").tobytes())
    return path


# -- the OpenAI benchmark ------------------------------------------------------------------------


@dataclass
class Result:
    concurrency: int
    latency: float
    chunks: int
    ideal: float
    window: float
    wall: float
    prepare: float
    first_request_after: float


async def _read_file(path: Path, block: int = 1024 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while data := await asyncio.to_thread(fh.read, block):
            yield data


async def create_book(database_url: str, data_dir: Path, sources: list[Path]) -> tuple[uuid.UUID, str]:
    """A book whose files are `sources` (stored through the storage backend) and its queued job."""
    from audiocity.audio import probe
    from audiocity.config import Settings
    from audiocity.db import make_engine, make_sessionmaker, session_scope
    from audiocity.models import AudioFile
    from audiocity.services import catalog
    from audiocity.services import jobs as job_service
    from audiocity.storage import get_storage

    settings = Settings(AUDIOCITY_DATA_DIR=str(data_dir), SECRET_KEY=SECRET)
    storage = get_storage(settings)
    engine = make_engine(database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            book = await catalog.create_audiobook(
                session, catalog.AudiobookInput(title=f"Benchmark {uuid.uuid4().hex[:6]}", price_cents=100)
            )
            for position, source in enumerate(sources):
                file_id = uuid.uuid4()
                key = f"audiobooks/{book.id}/files/{file_id}.wav"
                stored = await storage.write(key, _read_file(source), "audio/wav")
                info = await asyncio.to_thread(probe, source)
                session.add(
                    AudioFile(
                        id=file_id, audiobook_id=book.id, position=position, file_name=source.name,
                        content_type="audio/wav", size_bytes=stored.size, duration_seconds=info.duration_seconds,
                        storage_key=key,
                    )
                )  # fmt: skip
            await session.flush()
            job, _new = await job_service.queue_transcription(session, book.id)
            return book.id, str(job.id)
    finally:
        await engine.dispose()


async def job_row(database_url: str, job_id: str) -> dict[str, Any]:
    from audiocity.db import make_engine, make_sessionmaker
    from audiocity.models import Job

    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            job = await session.get(Job, uuid.UUID(job_id))
            assert job is not None
            return job.model_dump(mode="json")
    finally:
        await engine.dispose()


async def delete_book(database_url: str, data_dir: Path, book_id: uuid.UUID) -> None:
    from audiocity.config import Settings
    from audiocity.db import make_engine, make_sessionmaker, session_scope
    from audiocity.services import catalog
    from audiocity.storage import get_storage

    storage = get_storage(Settings(AUDIOCITY_DATA_DIR=str(data_dir), SECRET_KEY=SECRET))
    engine = make_engine(database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            keys = await catalog.delete_audiobook(session, book_id)
        for key in keys:
            await storage.delete(key)
    finally:
        await engine.dispose()


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "audiocity.cli", "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while "worker running" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    return process


def run_openai(args: argparse.Namespace, work: Path) -> list[Result]:
    from audiocity.embedded import start_postgres, start_redis

    servers: list[Any] = []
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        servers.append(start_postgres(work / "data"))
        database_url = servers[-1].url
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        servers.append(start_redis(work / "data"))
        redis_url = servers[-1].url
    try:
        return _run_openai(args, work, database_url, redis_url)
    finally:
        for server in servers:
            server.stop()


def _run_openai(args: argparse.Namespace, work: Path, database_url: str, redis_url: str) -> list[Result]:
    from audiocity import migrate, tasks
    from audiocity.broker import make_broker

    migrate.upgrade(database_url)
    broker = make_broker(redis_url)
    broker.declare_queue(tasks.QUEUE)

    seconds_per_file = args.hours * 3600 / args.files
    print(f"generating {args.files} files of {seconds_per_file / 60:.0f} min ...", flush=True)
    sources = [write_book_file(work / f"part-{n + 1:02d}.wav", seconds_per_file, seed=n) for n in range(args.files)]

    results = []
    for concurrency in args.concurrency:
        fake = FakeProcess(args.latency)
        book_id, job_id = asyncio.run(create_book(database_url, work / "data", sources))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_URL", "REDIS_URL"))}
        env |= {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "AUDIOCITY_DATA_DIR": str(work / "data"),
            "SECRET_KEY": SECRET,
            "OPENAI_API_KEY": "bench",
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
            "TRANSCRIPTION_CONCURRENCY": str(concurrency),
            "WORKER_THREADS": "1",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("TRANSCRIPTION_CHUNK_SECONDS", None)
        worker = start_worker({**env, "LOG_LEVEL": "INFO"}, work / f"worker-{concurrency}.log")
        try:
            enqueued = time.monotonic()
            tasks.send(tasks.TRANSCRIBE_AUDIOBOOK, job_id, broker=broker)
            while True:
                row = asyncio.run(job_row(database_url, job_id))
                if row["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    break
                time.sleep(0.2)
            done = time.monotonic()
            if row["status"] != "SUCCEEDED":
                raise RuntimeError(f"job ended {row['status']}: {row['error']}")
            requests = [r for r in fake.requests() if r["endpoint"] == "transcriptions"]
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
            fake.stop()
        asyncio.run(delete_book(database_url, work / "data", book_id))
        chunks = int(row["chunks_total"])
        first = min(r["started"] for r in requests)
        last = max(r["finished"] for r in requests)
        result = Result(
            concurrency=concurrency,
            latency=args.latency,
            chunks=chunks,
            ideal=math.ceil(chunks / concurrency) * args.latency,
            window=last - first,
            wall=done - enqueued,
            prepare=float(row["usage"].get("timings", {}).get("prepare_seconds", 0.0)),
            first_request_after=first - enqueued,
        )
        assert len(requests) == chunks, (len(requests), chunks)
        if args.trace:
            trace = [{**r, "started": r["started"] - enqueued, "finished": r["finished"] - enqueued} for r in requests]
            Path(f"{args.trace}-{concurrency}.json").write_text(json.dumps(trace))
        print(result, flush=True)
        results.append(result)
    return results


# -- the local benchmark -------------------------------------------------------------------------


@dataclass
class LocalResult:
    audio_seconds: float
    elapsed: float
    threads: int
    wer: float

    @property
    def speed(self) -> float:
        return self.audio_seconds / self.elapsed


def run_local(work: Path, repeats: int = 4) -> LocalResult:
    """The speech fixtures, joined `repeats` times with 1 s pauses, transcribed as 10-minute chunks."""
    import jiwer
    from tests.fixtures.audio import speech_fixtures

    from audiocity.ai.local import LocalWhisperTranscriber
    from audiocity.audio import split_for_transcription
    from audiocity.config import Settings

    pieces: list[np.ndarray] = []
    reference: list[str] = []
    for _ in range(repeats):
        for fixture in speech_fixtures():
            for chunk in split_for_transcription(fixture, work / "fixtures" / fixture.stem):
                with wave.open(str(chunk.path)) as w:
                    pieces.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))
            pieces.append(np.zeros(SAMPLE_RATE, dtype="<i2"))
            reference.append(fixture.with_suffix(".txt").read_text())
    clip = work / "speech.wav"
    with wave.open(str(clip), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.concatenate(pieces).tobytes())

    threads = Settings().local_whisper_threads
    transcriber = LocalWhisperTranscriber(cpu_threads=threads)
    transcriber.load()
    chunks = split_for_transcription(clip, work / "clip-chunks")
    started = time.perf_counter()
    results = [asyncio.run(transcriber.transcribe(c.path)) for c in chunks]
    elapsed = time.perf_counter() - started

    def normalise(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())

    wer = jiwer.wer(normalise(" ".join(reference)), normalise(" ".join(r.text for r in results)))
    return LocalResult(sum(r.audio_seconds for r in results), elapsed, threads, float(wer))


# -- report --------------------------------------------------------------------------------------


def report(results: list[Result], local: LocalResult | None, args: argparse.Namespace) -> str:
    lines = []
    if results:
        lines += [
            f"OpenAI path, {args.hours:g} h book in {args.files} files, fake latency {args.latency:g} s per chunk:",
            "",
            "| concurrency | chunks | ideal ceil(chunks/c)*latency | transcription window | overhead"
            " | enqueue -> SUCCEEDED | first request after | cutting (summed) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results:
            lines.append(
                f"| {r.concurrency} | {r.chunks} | {r.ideal:.0f} s | {r.window:.1f} s | "
                f"{100 * (r.window / r.ideal - 1):+.1f}% | {r.wall:.1f} s | {r.first_request_after:.1f} s | "
                f"{r.prepare:.1f} s |"
            )
    if local is not None:
        lines += [
            "",
            f"Local Whisper tiny.en, {local.threads} threads: {local.audio_seconds:.0f} s of speech in "
            f"{local.elapsed:.1f} s = {local.speed:.1f}x real time (WER {local.wer:.3f}).",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench transcription")
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--latency", type=float, default=10.0, help="seconds per transcription request")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[4, 8, 16], help="e.g. 4,8,16"
    )
    parser.add_argument("--trace", help="write each run's requests (seconds after enqueue) to TRACE-<c>.json")
    parser.add_argument("--skip-openai", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="audiocity-bench-") as tmp:
        work = Path(tmp)
        results = [] if args.skip_openai else run_openai(args, work)
        local = None if args.skip_local else run_local(work)
        print()
        print(report(results, local, args))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # `python bench/transcription.py` too: the fake lives in tests/
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-fake":
        serve_fake(float(sys.argv[2]))
    else:
        main(sys.argv[1:])
