"""What actors need, created once on the worker's event loop (an engine is bound to its loop)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.base import Summarizer, Transcriber
from audiocity.config import Settings, get_settings
from audiocity.db import make_engine, make_sessionmaker
from audiocity.events import Publisher
from audiocity.mail import Mailer, make_mailer
from audiocity.runtime import database_url, redis_url
from audiocity.services.notices import NoticeConfig
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
    mailer: Mailer
    notices: NoticeConfig


def notice_config(settings: Settings) -> NoticeConfig:
    return NoticeConfig(
        password_reset_url=settings.resolved_password_reset_url,
        password_reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
        library_url=settings.resolved_library_url,
        admin_alert_email=settings.admin_alert_email,
    )


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
        mailer=make_mailer(settings.smtp_url, settings.mail_from, settings.outbox_dir),
        notices=notice_config(settings),
    )


def current() -> Resources:
    """One set per event loop: the AsyncIO middleware runs every async actor on one loop."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _resources:
        _resources[loop_id] = build(get_settings())
    return _resources[loop_id]
