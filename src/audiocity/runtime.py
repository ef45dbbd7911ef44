"""Where the database and Redis are: configured URLs, or embedded servers started on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from audiocity.config import Settings
from audiocity.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis

_lock = threading.Lock()
_postgres: dict[Path, EmbeddedPostgres] = {}
_redis: dict[Path, EmbeddedRedis] = {}


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    key = settings.data_dir.resolve()
    with _lock:
        if key not in _postgres:
            _postgres[key] = start_postgres(key)
        return _postgres[key].url


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    key = settings.data_dir.resolve()
    with _lock:
        if key not in _redis:
            _redis[key] = start_redis(key)
        return _redis[key].url


def stop_embedded() -> None:
    """Stop the servers this process started (a reused server belongs to whoever started it)."""
    with _lock:
        for redis in _redis.values():
            redis.stop()
        _redis.clear()
        for postgres in _postgres.values():
            postgres.stop()
        _postgres.clear()
