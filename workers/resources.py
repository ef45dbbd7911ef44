"""What actors need, created once on the worker's event loop (an engine is bound to its loop)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.base import Summarizer, Transcriber
from audiocity.config import Settings, get_settings
from audiocity.db import make_engine, make_sessionmaker
from audiocity.events import Publisher
from audiocity.runtime import database_url, redis_url
from audiocity.storage import Storage, get_storage
from workers.limiter import AdaptiveLimiter


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    events: Publisher
    transcriber: Transcriber
    summarizer: Summarizer
    # One adaptive limiter per AI provider name, shared by every job of the process (workers/limiter.py).
    limiters: dict[str, AdaptiveLimiter] = field(default_factory=dict)


_resources: dict[int, Resources] = {}


def limiters_for(client: aioredis.Redis, settings: Settings, *names: str) -> dict[str, AdaptiveLimiter]:
    """A limiter per provider; its ceiling is TRANSCRIPTION_CONCURRENCY requests per process."""
    return {
        name: AdaptiveLimiter(
            client,
            name,
            ceiling=max(1, settings.transcription_concurrency),
            cooldown_seconds=settings.ai_rate_limit_cooldown_seconds,
        )
        for name in names
    }


def build(settings: Settings) -> Resources:
    engine = make_engine(database_url(settings), pool_size=5)
    client = aioredis.Redis.from_url(redis_url(settings))
    transcriber, summarizer = get_transcriber(settings), get_summarizer(settings)
    return Resources(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        storage=get_storage(settings),
        events=Publisher(client),
        transcriber=transcriber,
        summarizer=summarizer,
        limiters=limiters_for(client, settings, transcriber.name, summarizer.name),
    )


def current() -> Resources:
    """One set per event loop: the AsyncIO middleware runs every async actor on one loop."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _resources:
        _resources[loop_id] = build(get_settings())
    return _resources[loop_id]
