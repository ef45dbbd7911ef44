"""The application container: everything a process shares, built once by its composition root.

The app's lifespan builds one (`open_app_resources`), and so does each worker process on boot
(`workers.resources.ResourcesMiddleware`, on the AsyncIO loop its actors run on, since an engine's
connections belong to the loop that opened them). Routes, resolvers and actors take what they need
from it; nothing below keeps a module-level cache or reads settings at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

import dramatiq
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity import migrate
from audiocity.ai import get_embedder, get_summarizer, get_transcriber
from audiocity.ai.base import Embedder, Summarizer, Transcriber
from audiocity.ai.limiter import AdaptiveLimiter
from audiocity.ai.query_embeddings import QueryEmbedder
from audiocity.auth.oidc import OidcProvider
from audiocity.auth.tokens import TokenConfig
from audiocity.broker import make_broker
from audiocity.catalog_watch import CatalogWatch, open_watch
from audiocity.config import Settings
from audiocity.db import make_engine, make_read_sessionmaker, make_sessionmaker
from audiocity.events import EventBus, Publisher, Publishes
from audiocity.extras import MissingExtra
from audiocity.mail import Mailer, make_mailer
from audiocity.payments import Gateways, get_gateways
from audiocity.ratelimit import RateLimiter
from audiocity.runtime import database_url, redis_url
from audiocity.services.covers import SignedLinks
from audiocity.services.notices import NoticeConfig
from audiocity.storage import Storage, get_storage
from audiocity.tasks import TaskSender

log = logging.getLogger(__name__)


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
    oidc: OidcProvider | None = None  # Google (or another OIDC provider) sign-in, when configured
    replica_sessions: async_sessionmaker[AsyncSession] | None = None  # DATABASE_READ_URL, when configured
    limiter: RateLimiter | None = None  # rate limits shared by every API process through Redis
    cover_links: SignedLinks = field(default_factory=SignedLinks)  # signed cover URLs of the current window
    catalog: CatalogWatch | None = None  # the catalog version by LISTEN/NOTIFY (CATALOG_LISTEN)

    @cached_property
    def query_embedder(self) -> QueryEmbedder:
        """Embeds `semantic` queries; its model loads on the first one, not at start-up."""
        return QueryEmbedder(self.settings)


@dataclass
class WorkerResources(Resources):
    """A worker's container: the AI backends the pipeline calls."""

    engine: AsyncEngine
    transcriber: Transcriber
    summarizer: Summarizer
    mailer: Mailer
    notices: NoticeConfig
    # Meaning search's embedder; None when no model is available (the embedding stage is then skipped).
    embedder: Embedder | None = None
    # One adaptive limiter per AI provider name, shared by every job of the process (ai/limiter.py).
    limiters: dict[str, AdaptiveLimiter] = field(default_factory=dict)


def notice_config(settings: Settings) -> NoticeConfig:
    return NoticeConfig(
        password_reset_url=settings.resolved_password_reset_url,
        password_reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
        library_url=settings.resolved_library_url,
        admin_alert_email=settings.admin_alert_email,
    )


def oidc_provider(settings: Settings) -> OidcProvider | None:
    if not settings.google_client_id:
        return None
    return OidcProvider(settings.oidc_discovery_url, settings.google_client_id)


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
    read_engine = make_engine(settings.database_read_url) if settings.database_read_url else None
    broker_url = await asyncio.to_thread(redis_url, settings)
    if broker is None:
        broker = make_broker(broker_url)
    bus = EventBus(broker_url)
    await bus.start()
    watch = open_watch(db_url, settings.catalog_listen_retry_seconds) if settings.catalog_listen else None
    if watch is not None:
        watch.start()
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
            oidc=oidc_provider(settings),
            replica_sessions=make_read_sessionmaker(read_engine) if read_engine is not None else None,
            limiter=RateLimiter(bus.client),
            catalog=watch,
        )
    finally:
        if watch is not None:
            await watch.stop()
        await bus.stop()
        await engine.dispose()
        if read_engine is not None:
            await read_engine.dispose()


def build_worker_resources(settings: Settings, broker: dramatiq.Broker | None = None) -> WorkerResources:
    """A worker's container; call it on the loop its actors run on."""
    engine = make_engine(database_url(settings), pool_size=5)
    client = aioredis.Redis.from_url(redis_url(settings))
    transcriber, summarizer = get_transcriber(settings), get_summarizer(settings)
    embedder = worker_embedder(settings)
    return WorkerResources(
        settings=settings,
        sessions=make_sessionmaker(engine),
        storage=get_storage(settings),
        events=Publisher(client),
        gateways=get_gateways(settings),
        tasks=TaskSender(broker),
        tokens=token_config(settings),
        engine=engine,
        transcriber=transcriber,
        summarizer=summarizer,
        mailer=make_mailer(settings.smtp_url, settings.mail_from, settings.outbox_dir),
        notices=notice_config(settings),
        embedder=embedder,
        limiters=limiters_for(
            client, settings, transcriber.name, summarizer.name, *([embedder.name] if embedder else [])
        ),
    )


def worker_embedder(settings: Settings) -> Embedder | None:
    """The embedder, or None (logged) when the `local-embeddings` extra is missing and OpenAI is not set."""
    try:
        return get_embedder(settings)
    except MissingExtra as exc:
        log.warning("meaning search will not be embedded: %s", exc)
        return None
