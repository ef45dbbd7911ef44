from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from audiocity import models
from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.common import Money, TranscriptStatus
from audiocity.graphql.types.cover import Cover
from audiocity.services import previews
from audiocity.services.covers import cover_links
from audiocity.services.errors import ServiceError
from audiocity.services.semantic import SemanticUnavailable
from audiocity.storage import LinkUnavailable


@strawberry.type(description="One audio file of an audiobook; `position` is its place in play order.")
class AudioFile(Node):
    db_id: strawberry.Private[uuid.UUID]
    position: int = strawberry.field(description="0-based place in play order.")
    file_name: str = strawberry.field(description="The name it was uploaded with.")
    content_type: str = strawberry.field(description="MIME type, e.g. `audio/mpeg`.")
    size_bytes: float = strawberry.field(description="Bytes (a Float: files can exceed 2^31).")
    duration_seconds: float = strawberry.field(description="Length of the audio.")
    codec: str | None = strawberry.field(description="The audio codec found when probing (ffmpeg name).")
    created_at: datetime = strawberry.field(description="When the file was added.")

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


@strawberry.type(description="A shelf of the catalog, e.g. Mystery.")
class Category(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL-safe name, unique; filter the catalog with it.")
    audiobook_count: int | None = strawberry.field(
        default=None, description="Published audiobooks in it (only in the `categories` list)."
    )

    @classmethod
    def from_model(cls, c: models.Category, count: int | None = None) -> Category:
        return cls(id=to_global_id("Category", c.id), name=c.name, slug=c.slug, audiobook_count=count)


@strawberry.type(description="A chapter of an audiobook, on the book's timeline (its files in play order).")
class Chapter:
    position: int = strawberry.field(description="0-based place in the book.")
    title: str = strawberry.field(description="The chapter's title, e.g. `Chapter One`.")
    start_seconds: float = strawberry.field(description="Where it starts, in seconds from the start of the book.")
    end_seconds: float = strawberry.field(description="Where it ends: the next chapter's start, or the book's end.")
    edited: bool = strawberry.field(description="Set by an admin (`updateChapters`) rather than detected.")


@strawberry.type(description="A free sample of an audiobook, playable without buying it.")
class AudiobookPreview:
    url: str = strawberry.field(
        description="Where to fetch the clip: a public, cacheable link for published books (admins get a "
        "short-lived signed link for drafts)."
    )
    start_seconds: float = strawberry.field(description="Where the clip starts in the book, in seconds.")
    duration_seconds: float = strawberry.field(description="Length of the clip.")
    content_type: str = strawberry.field(description="MIME type of the clip, e.g. `audio/mp4`.")


@strawberry.type(description="A title in the catalog: metadata, price, audio files and what the AI wrote.")
class Audiobook(Node):
    db_id: strawberry.Private[uuid.UUID]
    title: str = strawberry.field(description="The title.")
    subtitle: str | None = strawberry.field(description="The subtitle, if any.")
    description: str = strawberry.field(description="The publisher's description.")
    authors: list[str] = strawberry.field(description="Authors, in credit order.")
    narrators: list[str] = strawberry.field(description="Narrators, in credit order.")
    tags: list[str] = strawberry.field(description="Three lowercase tags written from the transcript.")
    summary: str | None = strawberry.field(description="One paragraph written from the transcript.")
    language: str = strawberry.field(description="BCP 47 language tag, e.g. `en`.")
    price: Money = strawberry.field(description="The catalog price.")
    series_position: float | None = strawberry.field(description="Its place in its series, e.g. 1 or 2.5.")
    published_year: int | None = strawberry.field(description="The year the book was first published.")
    publisher: str | None = strawberry.field(description="The publisher.")
    isbn: str | None = strawberry.field(description="The book's ISBN-13 (digits only).")
    duration_seconds: float = strawberry.field(description="All audio files together.")
    published: bool = strawberry.field(description="Visible to customers; drafts are seen by admins only.")
    transcript_status: TranscriptStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the transcript exists yet."
    )
    created_at: datetime = strawberry.field(description="When the audiobook was created.")
    updated_at: datetime | None = strawberry.field(description="When its metadata last changed.")

    # The cover as stored (`services.covers`), and an external URL set by `coverUrl` on older books.
    series_id: strawberry.Private[uuid.UUID | None] = None
    cover_key: strawberry.Private[str | None] = None
    cover_width: strawberry.Private[int | None] = None
    cover_height: strawberry.Private[int | None] = None
    cover_sizes: strawberry.Private[list[int] | None] = None
    external_cover_url: strawberry.Private[str | None] = None

    @staticmethod
    def _metadata(b: Any) -> dict[str, Any]:
        """The metadata columns, from a model or a catalog row (`CARD_COLUMNS`)."""
        return {
            "series_id": b.series_id,
            "series_position": b.series_position,
            "published_year": b.published_year,
            "publisher": b.publisher,
            "isbn": b.isbn,
            "cover_key": b.cover_key,
            "cover_width": b.cover_width,
            "cover_height": b.cover_height,
            "cover_sizes": list(b.cover_sizes or []),
            "external_cover_url": b.cover_url,
        }

    @classmethod
    def from_model(cls, b: models.Audiobook) -> Audiobook:
        return cls(
            **cls._metadata(b),
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
            **cls._metadata(b),
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

    @strawberry.field(description="The categories it is shelved in.")
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

    @strawberry.field(
        description="Audiobooks like this one by meaning (their summaries), most alike first; customers see "
        "published ones only. Empty until the book has been transcribed and summarised. Fails with code "
        "UNAVAILABLE where the server has no pgvector."
    )
    async def similar(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="How many, at most 50.")] = 5,
    ) -> list[Audiobook]:
        embedder = info.context.resources.query_embedder  # names the model; loads nothing
        admin = await info.context.is_admin()
        loaders = await info.context.loaders()
        try:
            rows = await loaders.similar(embedder.provider, embedder.model, first, admin).load(self.db_id)
        except SemanticUnavailable as exc:
            raise GraphQLError(str(exc), extensions={"code": "UNAVAILABLE"}) from None
        except ServiceError as exc:
            raise bad_input(exc.message) from exc
        return [Audiobook.from_row(row) for row in rows]

    @strawberry.field(
        description="Chapters in order, covering the whole book from 0: detected after transcription from "
        "spoken headings and pauses, or set by an admin with `updateChapters`. Empty until then."
    )
    async def chapters(self, info: Info[Context, None]) -> list[Chapter]:
        loaders = await info.context.loaders()
        rows = await loaders.chapters.load(self.db_id)
        return [
            Chapter(
                position=c.position,
                title=c.title,
                start_seconds=c.start_seconds,
                end_seconds=round(
                    rows[n + 1].start_seconds if n + 1 < len(rows) else max(self.duration_seconds, c.start_seconds), 3
                ),
                edited=c.source == models.ChapterSource.EDITED,
            )
            for n, c in enumerate(rows)
        ]

    @strawberry.field(
        description="A free sample clip (the first PREVIEW_SECONDS, or the range chosen with `setPreview`), cut "
        "when the book is published; null until then. Drafts have none, except for admins."
    )
    async def preview(self, info: Info[Context, None]) -> AudiobookPreview | None:
        loaders = await info.context.loaders()
        row = await loaders.previews.load(self.db_id)
        if row is None or row.storage_key is None:
            return None
        if self.published:
            url = info.context.settings.base_url.rstrip("/") + previews.public_path(row)
        else:
            viewer = await info.context.viewer()
            if viewer is None or viewer.role != models.Role.ADMIN:
                return None
            try:
                signed = await asyncio.to_thread(
                    info.context.resources.storage.signed_download_url,
                    row.storage_key,
                    expires_in=info.context.settings.download_url_ttl_seconds,
                    filename=f"{self.title} - preview.m4a",
                    content_type=row.content_type,
                    user_id=str(viewer.id),
                )
            except LinkUnavailable:
                return None
            url = signed.url
        return AudiobookPreview(
            url=url,
            start_seconds=row.start_seconds,
            duration_seconds=row.duration_seconds,
            content_type=row.content_type,
        )

    def _cover_links(self, info: Info[Context, None]) -> list[Any]:
        res = info.context.resources
        return cover_links(
            res.storage, self.db_id, self.cover_key, self.cover_width, self.cover_height, self.cover_sizes or [],
            ttl_seconds=res.settings.cover_url_ttl_seconds, signed=res.cover_links,
        )  # fmt: skip

    @strawberry.field(description="The cover image's URL: the uploaded cover (full size), else the URL an admin set.")
    def cover_url(self, info: Info[Context, None]) -> str | None:
        links = self._cover_links(info) if self.cover_key else []
        return links[0].url if links else self.external_cover_url

    @strawberry.field(description="The uploaded cover with its size and thumbnails; null until one is uploaded.")
    def cover(self, info: Info[Context, None]) -> Cover | None:
        return Cover.from_links(self._cover_links(info)) if self.cover_key else None

    @strawberry.field(description="The series it belongs to, if any.")
    def series(self, info: Info[Context, None]) -> Series | None:
        if self.series_id is None:
            return None
        return cast(Series | None, self._load_series(info, self.series_id))

    async def _load_series(self, info: Info[Context, None], series_id: uuid.UUID) -> Series | None:
        loaders = await info.context.loaders()
        found = await loaders.series.load(series_id)
        return Series.from_model(found) if found is not None else None


@strawberry.type(description="A series of audiobooks, e.g. a trilogy.")
class Series(Node):
    db_id: strawberry.Private[uuid.UUID]
    name: str = strawberry.field(description="The series' name.")

    @classmethod
    def from_model(cls, s: models.Series) -> Series:
        return cls(id=to_global_id("Series", s.id), db_id=s.id, name=s.name)

    @strawberry.field(description="Its published audiobooks, by position in the series.")
    async def audiobooks(self, info: Info[Context, None]) -> list[Audiobook]:
        loaders = await info.context.loaders()
        return [Audiobook.from_model(b) for b in await loaders.series_books.load(self.db_id)]
