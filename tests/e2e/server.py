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

from tests.outbox_helpers import empty_outbox
from tests.processes import spawn_worker, worker_env

# Every test server shares one Redis and calls from 127.0.0.1: the suite would trip the production
# rate limits of other test modules. Tests of the limits themselves pass stricter values.
GENEROUS_LIMITS = {
    "RATE_LIMIT_OPERATIONS_PER_CLIENT": "0/1",
    "RATE_LIMIT_COST_PER_CLIENT": "0/1",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "0/1",
    "RATE_LIMIT_LOGIN_PER_CLIENT": "0/1",
    "RATE_LIMIT_REGISTER_PER_CLIENT": "0/1",
    "RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT": "0/1",
    "RATE_LIMIT_PASSWORD_RESET_PER_CLIENT": "0/1",
    "RATE_LIMIT_CHECKOUT_PER_ACCOUNT": "0/1",
    "RATE_LIMIT_CHECKOUT_PER_CLIENT": "0/1",
    "RATE_LIMIT_GUEST_CART_PER_CLIENT": "0/1",
}


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


def start_server(data_dir: Path, database_url: str | None, redis_url: str | None, **extra_env: str) -> Server:
    """Spawn `audiocity serve` without waiting for it (see `wait_ready`), so several can start at once."""
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
        "TEST_PAYMENTS_ENABLED": "1",
        **GENEROUS_LIMITS,
        **extra_env,
    }
    env = {k: v for k, v in env.items() if v != ""}  # an empty value unsets a default
    data_dir.mkdir(parents=True, exist_ok=True)
    if env["IN_PROCESS_WORKER"] == "1":
        empty_outbox(database_url)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "audiocity.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Server(f"http://127.0.0.1:{port}", env, process, log_path)


def wait_ready(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready in time:\n{server.log()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGINT, timeout: float = 20) -> None:
    """Ask the process to stop as a deployer would; kill it only if it does not."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def run_server(
    data_dir: Path, database_url: str | None, redis_url: str | None, ready_within: float = 300, **extra_env: str
) -> Iterator[Server]:
    """Start a server; with no URLs it runs on its own embedded PostgreSQL and Redis, like `make run`.

    `ready_within` allows for slow start-ups on a loaded shared machine.
    """
    server = start_server(data_dir, database_url, redis_url, **extra_env)
    try:
        wait_ready(server, ready_within)
        yield server
    finally:
        stop(server.process)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(data_dir: Path, env: dict[str, str]) -> Worker:
    """Spawn `audiocity worker` with a server's environment (same database, Redis, storage, secret)."""
    log_path = data_dir / "worker.log"
    process = spawn_worker(worker_env(env, AUDIOCITY_DATA_DIR=str(data_dir)), log_path)
    return Worker(process, log_path)


def wait_worker_ready(worker: Worker, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while "worker running" not in worker.log():
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{worker.log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready in time:\n{worker.log()}")
        time.sleep(0.2)
