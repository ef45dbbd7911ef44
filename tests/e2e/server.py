"""Run `audiocity serve` as a real process on a free loopback port, as a deployer would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def ws_url(self) -> str:
        return self.graphql_url.replace("http://", "ws://")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "audiocity.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_server(data_dir: Path, database_url: str | None, redis_url: str | None, **extra_env: str) -> Iterator[Server]:
    """Start a server; with no URLs it runs on its own embedded PostgreSQL and Redis, like `make run`."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    urls = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    env = {
        **inherited,
        **{k: v for k, v in urls.items() if v},
        "AUDIOCITY_DATA_DIR": str(data_dir),
        "IN_PROCESS_WORKER": "1",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "e2e-secret-key-for-tests-only-0123456789",
        "JOB_MAX_RETRIES": "0",
        **extra_env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "audiocity.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", env, process, log_path)
    try:
        deadline = time.monotonic() + 240  # a busy shared machine can take minutes to start a server
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log()}")
            try:
                if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in time:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
