"""Async engine and sessions. The engine is bound to the event loop that created it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)
Hook = Callable[[], Awaitable[None]]


def async_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as deployers write them and use asyncpg."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        parts = parts._replace(scheme="postgresql+asyncpg")
    return urlunsplit(parts)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """No pre-ping (a round trip per checkout): connections are recycled after half an hour, and a
    connection the server dropped is invalidated by SQLAlchemy when its first statement fails.

    hide_parameters: a failed statement is logged without its values (passwords, tokens, megabytes of input).
    """
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=10, pool_recycle=1800, hide_parameters=True
    )


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads on autocommit connections: no BEGIN/ROLLBACK round trips around a query."""
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def after_commit(session: AsyncSession, hook: Hook) -> None:
    """Run `hook` once the surrounding `session_scope` commits (enqueue work, publish events)."""
    session.info.setdefault("after_commit", []).append(hook)


def on_rollback(session: AsyncSession, hook: Hook) -> None:
    """Run `hook` if the surrounding `session_scope` rolls back (remove objects written to storage)."""
    session.info.setdefault("on_rollback", []).append(hook)


async def _run_hooks(session: AsyncSession, name: str) -> None:
    hooks: list[Hook] = session.info.pop(name, [])
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("%s hook failed", name)


@asynccontextmanager
async def session_scope(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commit on success, roll back on any error, then run the matching hooks."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            await _run_hooks(session, "on_rollback")
            raise
        session.info.pop("on_rollback", None)
        await _run_hooks(session, "after_commit")
