"""The application container: everything a process shares, built once by its composition root.

The app's lifespan builds one (`open_app_resources`), and so does each worker process on boot
(`workers.resources.ResourcesMiddleware`, on the AsyncIO loop its actors run on, since an engine's
connections belong to the loop that opened them). Routes, resolvers and actors take what they need
from it; nothing below keeps a module-level cache or reads settings at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property

import dramatiq
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity import migrate
from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.base import Summarizer, Transcriber
from audiocity.auth.tokens import TokenConfig
from audiocity.broker import make_broker
from audiocity.config import Settings
from audiocity.db import make_engine, make_read_sessionmaker, make_sessionmaker
from audiocity.events import EventBus, Publisher, Publishes
from audiocity.payments import Gateways, get_gateways
from audiocity.runtime import database_url, redis_url
from audiocity.storage import Storage, get_storage
from audiocity.tasks import TaskSender


def token_config(settings: Settings) -> TokenConfig:
    return TokenConfig(
        settings.resolved_secret_key(), settings.access_token_ttl_seconds, settings.refresh_token_ttl_seconds
    )


@dataclass
class Resources:
    """What every request or actor may use: shared, long-lived, built once per process."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    events: Publishes
    gateways: Gateways
    tasks: TaskSender
    tokens: TokenConfig

    @property
    def secret(self) -> str:
        return self.tokens.secret

    @cached_property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Autocommit sessions on the same pool, for requests that only read."""
        return make_read_sessionmaker(self.sessions.kw["bind"])


@dataclass
class AppResources(Resources):
    """The API's container: its event bus also fans events out to GraphQL subscriptions."""

    bus: EventBus


@dataclass
class WorkerResources(Resources):
    """A worker's container: the AI backends the pipeline calls."""

    engine: AsyncEngine
    transcriber: Transcriber
    summarizer: Summarizer


@asynccontextmanager
async def open_app_resources(
    settings: Settings, storage: Storage, broker: dramatiq.Broker | None = None
) -> AsyncIterator[AppResources]:
    """Migrate, connect and start the event bus; dispose of it all on the way out.

    `broker` is the one `serve`'s in-process worker already made, so both share it.
    """
    db_url = await asyncio.to_thread(database_url, settings)
    await asyncio.to_thread(migrate.upgrade, db_url)
    engine = make_engine(db_url)
    broker_url = await asyncio.to_thread(redis_url, settings)
    if broker is None:
        broker = make_broker(broker_url)
    bus = EventBus(broker_url)
    await bus.start()
    try:
        yield AppResources(
            settings=settings,
            sessions=make_sessionmaker(engine),
            storage=storage,
            events=bus,
            gateways=get_gateways(settings),
            tasks=TaskSender(broker),
            tokens=token_config(settings),
            bus=bus,
        )
    finally:
        await bus.stop()
        await engine.dispose()


def build_worker_resources(settings: Settings, broker: dramatiq.Broker | None = None) -> WorkerResources:
    """A worker's container; call it on the loop its actors run on."""
    engine = make_engine(database_url(settings), pool_size=5)
    return WorkerResources(
        settings=settings,
        sessions=make_sessionmaker(engine),
        storage=get_storage(settings),
        events=Publisher(aioredis.Redis.from_url(redis_url(settings))),
        gateways=get_gateways(settings),
        tasks=TaskSender(broker),
        tokens=token_config(settings),
        engine=engine,
        transcriber=get_transcriber(settings),
        summarizer=get_summarizer(settings),
    )
