from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import strawberry

from audiocity import models
from audiocity.graphql.types.audiobook import Audiobook, AudioFile
from audiocity.graphql.types.common import DownloadKind
from audiocity.services import downloads, progress
from audiocity.services.downloads import DownloadErrorCode as DownloadErrorCodeModel
from audiocity.services.downloads import DownloadLink as DownloadLinkModel
from audiocity.services.downloads import LinkMinter
from audiocity.services.library import LibraryOrder as LibraryOrderModel

log = logging.getLogger(__name__)

LibraryOrder = strawberry.enum(
    LibraryOrderModel,
    name="LibraryOrder",
    description="RECENTLY_LISTENED is 'continue listening': last listened first, then never-listened books.",
)


DownloadErrorCode = strawberry.enum(
    DownloadErrorCodeModel,
    name="DownloadErrorCode",
    description="SIGNING_UNAVAILABLE: the server cannot sign links (configuration); SIGNING_FAILED: try again later.",
)


@strawberry.type(description="Why one download link could not be made; the other links and the library still stand.")
class DownloadError:
    code: DownloadErrorCode  # type: ignore[valid-type]
    message: str


@strawberry.type(description="A signed link that stops working at `expiresAt`; `url` is null when `error` says why.")
class DownloadLink:
    kind: DownloadKind  # type: ignore[valid-type]
    file_name: str
    url: str | None
    expires_at: datetime | None
    size_bytes: float | None
    error: DownloadError | None = None

    @classmethod
    def from_model(cls, link: DownloadLinkModel) -> DownloadLink:
        return cls(
            kind=link.kind,
            file_name=link.file_name,
            url=link.url,
            expires_at=link.expires_at,
            size_bytes=float(link.size_bytes) if link.size_bytes is not None else None,
            error=DownloadError(code=link.error.code, message=link.error.message) if link.error else None,
        )


@strawberry.type(description="Where the viewer is in a book: across its files in play order, and within one.")
class ListeningProgress:
    position_seconds: float = strawberry.field(description="From the start of the first file.")
    duration_seconds: float = strawberry.field(description="All files together.")
    file_index: int | None = strawberry.field(description="0-based index of the current file in play order.")
    file: AudioFile | None
    offset_seconds: float = strawberry.field(description="Position within the current file.")
    percent: float = strawberry.field(description="0 to 100.")
    finished: bool = strawberry.field(description="Within 10 seconds of the end.")
    updated_at: datetime

    @classmethod
    def from_model(cls, p: progress.Progress) -> ListeningProgress:
        return cls(
            position_seconds=p.position_seconds,
            duration_seconds=p.duration_seconds,
            file_index=p.file_index,
            file=AudioFile.from_model(p.file) if p.file is not None else None,
            offset_seconds=p.offset_seconds,
            percent=p.percent,
            finished=p.finished,
            updated_at=p.updated_at,
        )


@strawberry.type
class LibraryItem:
    audiobook: Audiobook
    purchased_at: datetime
    progress: ListeningProgress | None = strawberry.field(description="Null until the viewer saves a position.")
    book: strawberry.Private[models.Audiobook]
    files: strawberry.Private[list[models.AudioFile]]
    transcript_bytes: strawberry.Private[dict[str, int] | None]
    minter: strawberry.Private[LinkMinter]

    @strawberry.field(description="Each audio file in play order, then the transcript as text and as WebVTT.")
    async def downloads(self, info: strawberry.Info) -> list[DownloadLink]:
        # Off the event loop: signing through IAM is a network call per link.
        links = await asyncio.to_thread(self.minter.file_links, self.book, self.files, self.transcript_bytes)
        failed = [link for link in links if link.error is not None]
        if failed:
            request_id = getattr(getattr(info.context.request, "state", None), "request_id", "-")
            first = failed[0].error
            assert first is not None
            log.warning(
                "request %s: %d of %d download links of audiobook %s could not be made (%s): %s",
                request_id,
                len(failed),
                len(links),
                self.book.id,
                first.code,
                first.detail,
            )
        return [DownloadLink.from_model(link) for link in links]

    @strawberry.field(description="One ZIP of all the downloads (audio stored as is); null when there is nothing yet.")
    def bundle(self) -> DownloadLink | None:
        link = self.minter.bundle_link(self.book, self.files, self.transcript_bytes)
        return DownloadLink.from_model(link) if link is not None else None


@strawberry.type
class DownloadKindCount:
    kind: DownloadKind  # type: ignore[valid-type]
    download_count: int


@strawberry.type(description="Download audit counts for one audiobook (admins).")
class DownloadStats:
    audiobook: Audiobook
    request_count: int = strawberry.field(description="Every served request, ranged ones included.")
    download_count: int = strawberry.field(description="Requests from byte 0: whole downloads and first plays.")
    unique_users: int
    last_downloaded_at: datetime | None
    by_kind: list[DownloadKindCount]

    @classmethod
    def build(cls, book: models.Audiobook, stats: downloads.DownloadStats) -> DownloadStats:
        return cls(
            audiobook=Audiobook.from_model(book),
            request_count=stats.request_count,
            download_count=stats.download_count,
            unique_users=stats.unique_users,
            last_downloaded_at=stats.last_downloaded_at,
            by_kind=[DownloadKindCount(kind=k, download_count=n) for k, n in sorted(stats.by_kind.items())],
        )
