"""How fast the streamed ZIP bundle is built from storage reads, and what it costs in memory.

    .venv/bin/python bench/bundle_stream.py [--files 4] [--mib 256]

Sparse files (no disk or page-cache cost) in a temp LocalStorage folder; the archive is consumed
and thrown away, as a socket would. Prints throughput and the process's peak RSS growth (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from audiocity.services.bundles import Member, stream_zip
from audiocity.storage.local import LocalStorage


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


async def main(files: int, mib: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalStorage(Path(tmp), "bench", "http://bench")
        members = []
        for i in range(files):
            key = f"audiobooks/bench/files/{i}.mp3"
            path = storage.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                f.truncate(mib * 1024 * 1024)
            members.append(Member(f"Bench/{i + 1:02d}.mp3", key, mib * 1024 * 1024))
        length, body = stream_zip(storage, members)
        before = _status_kib("VmRSS")
        started = time.perf_counter()
        sent = 0
        async for chunk in body:
            sent += len(chunk)
        elapsed = time.perf_counter() - started
        assert sent == length
        growth = (_status_kib("VmHWM") - before) / 1024
        print(
            f"{files} x {mib} MiB -> {sent / 2**20:.0f} MiB zip in {elapsed:.2f} s "
            f"({sent / 2**20 / elapsed:.0f} MiB/s); peak RSS growth {growth:.1f} MiB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    asyncio.run(main(args.files, args.mib))
