"""Per-request (or per-WebSocket) context: who is asking, DataLoaders, and the application container."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from audiocity.auth.tokens import InvalidToken
from audiocity.config import Settings
from audiocity.db import session_scope
from audiocity.http_client import client_address
from audiocity.models import Audiobook, AudiobookPreview, Category, Chapter, Role, Series, User
from audiocity.ratelimit import Rule
from audiocity.resources import AppResources
from audiocity.services import accounts, catalog, chapters, credits, entitlements, orders, previews, semantic

Reads = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Loaders:
    """Batch per request: one query for all the files (or categories, ...) a page asks for.

    Every loader reads through the request's one connection (`Context.reads`), one at a time.
    """

    def __init__(self, reads: Reads, viewer_id: uuid.UUID | None) -> None:
        self.sessions = reads
        self.viewer_id = viewer_id
        self.files: DataLoader[uuid.UUID, list[Any]] = DataLoader(self._files)
        self.categories: DataLoader[uuid.UUID, list[Category]] = DataLoader(self._categories)
        self.owned: DataLoader[uuid.UUID, bool] = DataLoader(self._owned)
        self.audiobooks: DataLoader[uuid.UUID, Audiobook | None] = DataLoader(self._audiobooks)
        self.series: DataLoader[uuid.UUID, Series | None] = DataLoader(self._series)
        self.series_books: DataLoader[uuid.UUID, list[Audiobook]] = DataLoader(self._series_books)
        self.chapters: DataLoader[uuid.UUID, list[Chapter]] = DataLoader(self._chapters)
        self.previews: DataLoader[uuid.UUID, AudiobookPreview | None] = DataLoader(self._previews)
        self._similar: dict[tuple[str, str, int, bool], DataLoader[uuid.UUID, list[Any]]] = {}

    def similar(self, provider: str, model: str, first: int, include_drafts: bool) -> DataLoader[uuid.UUID, list[Any]]:
        """Books like each of a page's books, in one statement per distinct (`first`, drafts) asked."""
        key = (provider, model, first, include_drafts)
        loader = self._similar.get(key)
        if loader is None:

            async def load(ids: list[uuid.UUID]) -> list[list[Any]]:
                async with self.sessions() as s:
                    found = await semantic.similar_books(
                        s, ids, provider=provider, model=model, first=first, include_drafts=include_drafts
                    )
                return [found[i] for i in ids]

            loader = self._similar[key] = DataLoader(load)
        return loader

    async def _files(self, ids: list[uuid.UUID]) -> list[list[Any]]:
        async with self.sessions() as s:
            found = await catalog.file_rows_for_books(s, ids)
        return [found[i] for i in ids]

    async def _categories(self, ids: list[uuid.UUID]) -> list[list[Category]]:
        async with self.sessions() as s:
            found = await catalog.categories_for_books(s, ids)
        return [found[i] for i in ids]

    async def _owned(self, ids: list[uuid.UUID]) -> list[bool]:
        if self.viewer_id is None:
            return [False] * len(ids)
        async with self.sessions() as s:
            owned = await entitlements.owned_book_ids(s, self.viewer_id, ids)
        return [i in owned for i in ids]

    async def _series(self, ids: list[uuid.UUID]) -> list[Series | None]:
        async with self.sessions() as s:
            found = await credits.series_by_ids(s, ids)
        return [found.get(i) for i in ids]

    async def _series_books(self, ids: list[uuid.UUID]) -> list[list[Audiobook]]:
        async with self.sessions() as s:
            found = await credits.books_in_series(s, ids, include_drafts=False)
        return [found[i] for i in ids]

    async def _chapters(self, ids: list[uuid.UUID]) -> list[list[Chapter]]:
        async with self.sessions() as s:
            found = await chapters.chapters_for_books(s, ids)
        return [found[i] for i in ids]

    async def _previews(self, ids: list[uuid.UUID]) -> list[AudiobookPreview | None]:
        async with self.sessions() as s:
            found = await previews.previews_for_books(s, ids)
        return [found.get(i) for i in ids]

    async def _audiobooks(self, ids: list[uuid.UUID]) -> list[Audiobook | None]:
        async with self.sessions() as s:
            found = await orders.books_by_ids(s, ids)
        return [found.get(i) for i in ids]


@dataclass
class Context:
    resources: AppResources
    request: HTTPConnection
    connection_params: dict[str, Any] | None = None
    response: Any = None  # Strawberry's sub-response on HTTP: status code and headers
    new_guest_token: str | None = None  # a guest cart started earlier in this request (aliased addToCart)
    _viewer: User | None = None
    _viewer_loaded: bool = False
    _viewer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _token_error: str | None = None
    _loaders: Loaders | None = field(default=None)
    _read: AsyncSession | None = None
    _read_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    def client_address(self) -> str:
        return client_address(self.request, self.settings.trust_forwarded_for)

    def refuse_with_retry_after(self, seconds: int) -> None:
        """The whole HTTP request is throttled: answer 429 with `Retry-After`."""
        if self.response is not None:
            self.response.status_code = 429
            self.response.headers["Retry-After"] = str(seconds)

    async def throttle(self, name: str, *limits: tuple[str, str | None]) -> None:
        """Take one token per (setting value, subject); raises `RateLimited` when one is empty.

        `limits` pairs a rule such as "5/5m" with a subject such as "account:<hash>" or "client:1.2.3.4".
        """
        if self.resources.limiter is not None:
            await self.resources.limiter.check(name, *((Rule.parse(rule), subject) for rule, subject in limits))

    def bearer_token(self) -> str | None:
        raw: Any = None
        if self.connection_params:
            raw = self.connection_params.get("Authorization") or self.connection_params.get("authorization")
        if raw is None:
            raw = self.request.headers.get("authorization")
        if not raw or not isinstance(raw, str):
            return None
        scheme, _, token = raw.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    async def viewer(self) -> User | None:
        """The signed-in user, loaded once; `token_error` says why a presented token was refused.

        Sibling fields resolve concurrently, so the first one loads and the others wait for it.
        """
        async with self._viewer_lock:
            if not self._viewer_loaded:
                await self._load_viewer()
                self._viewer_loaded = True
        return self._viewer

    async def refresh_viewer(self) -> User | None:
        """Read the account again: an open socket keeps only the rights its account still has."""
        async with self._viewer_lock:
            await self._load_viewer()
            self._viewer_loaded = True
        return self._viewer

    async def _load_viewer(self) -> None:
        self._viewer, self._token_error = None, None
        token = self.bearer_token()
        if not token:
            return
        try:
            claims = self.resources.tokens.decode(token)
        except InvalidToken:
            self._token_error = "The access token is invalid or expired."
            return
        async with self.reads() as s:
            self._viewer = await accounts.get_user(s, claims.user_id)
        if self._viewer is None:
            self._token_error = "The account no longer exists."

    @property
    def token_error(self) -> str | None:
        return self._token_error

    async def is_admin(self) -> bool:
        user = await self.viewer()
        return user is not None and user.role == Role.ADMIN

    async def loaders(self) -> Loaders:
        if self._loaders is None:
            user = await self.viewer()
            self._loaders = Loaders(self.reads, user.id if user else None)
        return self._loaders

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """The request's one read session: one pooled connection (autocommit: no BEGIN/ROLLBACK) shared
        by the viewer lookup, the page query and every DataLoader, used by one of them at a time.
        Released when the operation ends (`ReleaseReads`), not per use."""
        if self.request.scope.get("type") == "websocket":
            # a socket's operations can last hours: never hold a pooled connection between uses
            async with self.resources.read_sessions() as s:
                yield s
            return
        async with self._read_lock:
            if self._read is None:
                self._read = self.resources.read_sessions()
            yield self._read

    @asynccontextmanager
    async def catalog_reads(self, admin: bool) -> AsyncIterator[AsyncSession]:
        """The replica (DATABASE_READ_URL) for customers' catalog browsing; admins read the primary,
        so their own writes show at once. Without a replica, the request's one read session."""
        replica = self.resources.replica_sessions
        if admin or replica is None:
            async with self.reads() as s:
                yield s
            return
        async with replica() as s:
            yield s

    async def release_reads(self) -> None:
        async with self._read_lock:  # never while a loader is using it
            read, self._read = self._read, None
        if read is not None:
            await read.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work (a mutation); commits on success.

        The read connection goes back to the pool first: a request never holds two connections, so
        concurrent mutations cannot exhaust the pool with reads waiting for writes."""
        await self.release_reads()
        async with session_scope(self.resources.sessions) as s:
            yield s
