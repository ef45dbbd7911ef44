"""The application container for running the GraphQL schema in-process, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import TokenConfig
from audiocity.config import Settings
from audiocity.resources import AppResources
from audiocity.storage import Storage
from audiocity.storage.local import LocalStorage
from audiocity.tasks import TaskSender


def in_process_resources(
    sessions: async_sessionmaker[AsyncSession],
    data_dir: Path,
    secret: str,
    *,
    settings: Settings | None = None,
    storage: Storage | None = None,
    token_ttl_seconds: int = 60,
    **extra: Any,
) -> AppResources:
    """Settings, local storage and tokens for the test; no event bus, broker or payment gateways."""
    return AppResources(
        settings=settings or Settings(AUDIOCITY_DATA_DIR=data_dir),
        sessions=sessions,
        storage=storage or LocalStorage(data_dir, secret, "http://test"),
        events=None,  # type: ignore[arg-type]
        gateways={},
        tasks=TaskSender(),
        tokens=TokenConfig(secret, token_ttl_seconds, token_ttl_seconds),
        bus=None,  # type: ignore[arg-type]
        **extra,
    )
