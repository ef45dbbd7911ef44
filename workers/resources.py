"""What actors need, created once on the worker's event loop (an engine is bound to its loop)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.base import Summarizer, Transcriber
from audiocity.config import Settings, get_settings
from audiocity.db import make_engine, make_sessionmaker
from audiocity.events import Publisher
from audiocity.runtime import database_url, redis_url
from audiocity.storage import Storage, get_storage


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    events: Publisher
    transcriber: Transcriber
    summarizer: Summarizer


_resources: dict[int, Resources] = {}


def build(settings: Settings) -> Resources:
    engine = make_engine(database_url(settings), pool_size=5)
    return Resources(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        storage=get_storage(settings),
        events=Publisher(aioredis.Redis.from_url(redis_url(settings))),
        transcriber=get_transcriber(settings),
        summarizer=get_summarizer(settings),
    )


def current() -> Resources:
    """One set per event loop: the AsyncIO middleware runs every async actor on one loop."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _resources:
        _resources[loop_id] = build(get_settings())
    return _resources[loop_id]
