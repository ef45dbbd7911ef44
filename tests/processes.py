"""`audiocity worker` as a real process, as deployed: its environment, spawning it, stopping it.

One helper for every test that runs a worker process (tests/workers/, tests/e2e/, tests/subscriptions/).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.outbox_helpers import empty_outbox


def worker_env(base: Mapping[str, str] | None = None, **settings: str) -> dict[str, str]:
    """The worker's environment: `base` (a server's, say; by default this process's without its
    database and Redis URLs, which the settings then give) plus `settings`.

    The metrics port is 0 unless given: other processes on the machine may hold 9191.
    """
    if base is None:
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {"WORKER_METRICS_PORT": "0", **base, **settings}


def spawn_worker(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `audiocity worker`; its output is appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "audiocity.cli", "worker"], env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM (the job in flight may finish), then SIGKILL if it takes longer than `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def worker_process(
    env: Mapping[str, str], log_path: Path, *, clean_outbox: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker for the block; `clean_outbox` first drops other tests' unsent messages from the outbox."""
    if clean_outbox:
        empty_outbox(env.get("DATABASE_URL"))
    process = spawn_worker(env, log_path)
    try:
        yield process
    finally:
        stop_worker(process)
