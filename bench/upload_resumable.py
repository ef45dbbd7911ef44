"""Direct-to-storage uploads on local storage through a real `audiocity serve`: throughput and memory.

    .venv/bin/python bench/upload_resumable.py [--mib 400] [--chunk-mib 8]

Starts a server on its own embedded PostgreSQL and Redis (no worker), makes an admin and a book,
then sends a generated PCM WAV with the GCS resumable protocol (the same client as the tests),
calls completeUpload (size, CRC32C, PyAV probe) and deletes the file again. Prints the upload
throughput, the completeUpload time and the server's RSS growth (VmRSS sampled after each chunk).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

import google_crc32c
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.client import GraphQLClient
from tests.e2e.server import run_server
from tests.uploads import resumable
from tests.uploads.test_api import COMPLETE, CREATE_BOOK, DELETE, START
from tests.uploads.wav import HEADER_BYTES, wav_source

LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"""


def rss(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert match is not None
    return int(match.group(1)) * 1024


async def run(mib: int, chunk_mib: int) -> None:
    total = mib * 1024 * 1024 + HEADER_BYTES
    source = wav_source(total)
    crc = 0
    for offset in range(0, total, 8 * 1024 * 1024):
        crc = google_crc32c.extend(crc, source(offset, min(8 * 1024 * 1024, total - offset)))

    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp), None, None, IN_PROCESS_WORKER="0") as server:
        made = server.cli("create-admin", "--email", "bench@example.com", "--password", "bench password 1")
        assert made.returncode == 0, made.stderr
        async with httpx.AsyncClient(timeout=600) as http:
            anon = GraphQLClient(http, server.graphql_url)
            token = (await anon(LOGIN, e="bench@example.com", p="bench password 1"))["login"]["accessToken"]
            admin = GraphQLClient(http, server.graphql_url, token)
            book = (await admin(CREATE_BOOK, input={"title": "Bench", "priceCents": 100}))["createAudiobook"]
            book_id = book["audiobook"]["id"]
            wanted = {"audiobookId": book_id, "fileName": "bench.wav", "contentType": "audio/wav"}
            upload = (await admin(START, input={**wanted, "sizeBytes": total, "crc32c": f"{crc:08x}"}))["startUpload"]
            target = upload["upload"]

            pid = server.process.pid
            baseline = rss(pid)
            samples = [baseline]
            began = time.perf_counter()
            done = await resumable.upload(
                http,
                target["url"],
                source,
                total,
                chunk_size=chunk_mib * 1024 * 1024,
                after_chunk=lambda _: samples.append(rss(pid)),
            )
            sent = time.perf_counter()
            assert done.done
            result = (await admin(COMPLETE, id=target["id"]))["completeUpload"]
            completed = time.perf_counter()
            samples.append(rss(pid))
            assert result["errors"] == [], result["errors"]
            await admin(DELETE, id=result["audioFile"]["id"])

    upload_s, complete_s = sent - began, completed - sent
    print(f"{mib} MiB in {chunk_mib} MiB chunks: upload {upload_s:.1f} s ({mib / upload_s:.0f} MiB/s), "
          f"completeUpload {complete_s:.1f} s, server RSS {baseline / 2**20:.0f} MiB "
          f"+{(max(samples) - baseline) / 2**20:.1f} MiB peak")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=400)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args.mib, args.chunk_mib))
