"""A blocking twin of `Session` for scripts and sync frameworks: every operation, same names.

Each call runs on a private event loop in a background thread; subscriptions become ordinary
iterators. Written by hand and copied into the package by `make client`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from .session import Session

T = TypeVar("T")


class SyncSession:
    """`SyncSession(url).audiobooks(first=10)` blocks and returns what `await Session(url).audiobooks(...)` would."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="audiocity-client", daemon=True)
        self._thread.start()
        self.session: Session = self._run(self._create(url, kwargs))

    @staticmethod
    async def _create(url: str, kwargs: dict[str, Any]) -> Session:
        return Session(url, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._run(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            self._run(agen.aclose())  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.session, name)
        if inspect.isasyncgenfunction(attr):
            return functools.wraps(attr)(lambda *a, **k: self._iterate(attr(*a, **k)))
        if inspect.iscoroutinefunction(attr):
            return functools.wraps(attr)(lambda *a, **k: self._run(attr(*a, **k)))
        return attr

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self.session.http_client.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> SyncSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
