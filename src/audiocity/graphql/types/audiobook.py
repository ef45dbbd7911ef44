from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.types import Info

from audiocity import models
from audiocity.graphql.context import Context
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.common import Money, TranscriptStatus


@strawberry.type(description="One audio file of an audiobook; `position` is its place in play order.")
class AudioFile(Node):
    db_id: strawberry.Private[uuid.UUID]
    position: int
    file_name: str
    content_type: str
    size_bytes: float = strawberry.field(description="Bytes (a Float: files can exceed 2^31).")
    duration_seconds: float
    codec: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, f: models.AudioFile) -> AudioFile:
        return cls.from_row(f)

    @classmethod
    def from_row(cls, f: Any) -> AudioFile:
        """From a model or a plain row with the same column names."""
        return cls(
            id=to_global_id("AudioFile", f.id),
            db_id=f.id,
            position=f.position,
            file_name=f.file_name,
            content_type=f.content_type,
            size_bytes=float(f.size_bytes),
            duration_seconds=f.duration_seconds,
            codec=f.codec,
            created_at=f.created_at,
        )


@strawberry.type
class Category(Node):
    name: str
    slug: str
    audiobook_count: int | None = None

    @classmethod
    def from_model(cls, c: models.Category, count: int | None = None) -> Category:
        return cls(id=to_global_id("Category", c.id), name=c.name, slug=c.slug, audiobook_count=count)


@strawberry.type
class Audiobook(Node):
    db_id: strawberry.Private[uuid.UUID]
    title: str
    subtitle: str | None
    description: str
    authors: list[str]
    narrators: list[str]
    tags: list[str] = strawberry.field(description="Three lowercase tags written from the transcript.")
    summary: str | None = strawberry.field(description="One paragraph written from the transcript.")
    language: str
    price: Money
    cover_url: str | None
    duration_seconds: float
    published: bool
    transcript_status: TranscriptStatus  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_model(cls, b: models.Audiobook) -> Audiobook:
        return cls(
            id=to_global_id("Audiobook", b.id),
            db_id=b.id,
            title=b.title,
            subtitle=b.subtitle,
            description=b.description,
            authors=list(b.authors),
            narrators=list(b.narrators),
            tags=list(b.tags),
            summary=b.summary,
            language=b.language,
            price=Money(amount_cents=b.price_cents, currency=b.currency),
            cover_url=b.cover_url,
            duration_seconds=b.duration_seconds,
            published=b.published,
            transcript_status=b.transcript_status,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )

    # Filled by the catalog page from its own set-based queries, so these resolve without awaiting.
    prefetched_files: strawberry.Private[list[AudioFile] | None] = None
    prefetched_categories: strawberry.Private[list[Category] | None] = None
    prefetched_owned: strawberry.Private[bool | None] = None

    @classmethod
    def from_row(cls, b: Any, files: list[Any] | None = None, owned: bool | None = None) -> Audiobook:
        """From a catalog row (`services.catalog.list_audiobook_rows`): only the columns it selected."""
        categories = getattr(b, "categories", None)
        return cls(
            id=to_global_id("Audiobook", b.id),
            db_id=b.id,
            title=b.title,
            subtitle=b.subtitle,
            description=getattr(b, "description", ""),
            authors=b.authors,
            narrators=b.narrators,
            tags=b.tags,
            summary=getattr(b, "summary", None),
            language=b.language,
            price=Money(amount_cents=b.price_cents, currency=b.currency),
            cover_url=b.cover_url,
            duration_seconds=b.duration_seconds,
            published=b.published,
            transcript_status=b.transcript_status,
            created_at=b.created_at,
            updated_at=b.updated_at,
            prefetched_files=None if files is None else [AudioFile.from_row(f) for f in files],
            prefetched_categories=None
            if categories is None
            else [Category(id=to_global_id("Category", c[0]), name=c[1], slug=c[2]) for c in categories],
            prefetched_owned=owned,
        )

    @strawberry.field(description="Audio files in play order.")
    def files(self, info: Info[Context, None]) -> list[AudioFile]:
        if self.prefetched_files is not None:
            return self.prefetched_files
        return cast(list[AudioFile], self._load_files(info))

    async def _load_files(self, info: Info[Context, None]) -> list[AudioFile]:
        loaders = await info.context.loaders()
        return [AudioFile.from_row(f) for f in await loaders.files.load(self.db_id)]

    @strawberry.field
    def categories(self, info: Info[Context, None]) -> list[Category]:
        if self.prefetched_categories is not None:
            return self.prefetched_categories
        return cast(list[Category], self._load_categories(info))

    async def _load_categories(self, info: Info[Context, None]) -> list[Category]:
        loaders = await info.context.loaders()
        return [Category.from_model(c) for c in await loaders.categories.load(self.db_id)]

    @strawberry.field(description="Whether the viewer owns this audiobook.")
    def owned(self, info: Info[Context, None]) -> bool:
        if self.prefetched_owned is not None:
            return self.prefetched_owned
        return cast(bool, self._load_owned(info))

    async def _load_owned(self, info: Info[Context, None]) -> bool:
        loaders = await info.context.loaders()
        return await loaders.owned.load(self.db_id)
