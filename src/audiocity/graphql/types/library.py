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
for _value in LibraryOrder.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = {
        "RECENTLY_PURCHASED": "Most recently bought first.",
        "RECENTLY_LISTENED": "Last listened first, then books never listened to.",
    }[_value.name]


DownloadErrorCode = strawberry.enum(
    DownloadErrorCodeModel,
    name="DownloadErrorCode",
    description="SIGNING_UNAVAILABLE: the server cannot sign links (configuration); SIGNING_FAILED: try again later.",
)
for _value in DownloadErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = {
        "SIGNING_UNAVAILABLE": "Nothing configured can sign links; the server's configuration must change.",
        "SIGNING_FAILED": "The signer refused or could not be reached; asking again may work.",
    }[_value.name]


@strawberry.type(description="Why one download link could not be made; the other links and the library still stand.")
class DownloadError:
    code: DownloadErrorCode = strawberry.field(description="Why, for programs.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="Why, for people.")


@strawberry.type(description="A signed link that stops working at `expiresAt`; `url` is null when `error` says why.")
class DownloadLink:
    kind: DownloadKind = strawberry.field(description="What the link points at.")  # type: ignore[valid-type]
    file_name: str = strawberry.field(description="The name to save it under.")
    url: str | None = strawberry.field(
        description="Signed URL; a plain GET fetches it, ranges allowed. Null with `error`."
    )
    expires_at: datetime | None = strawberry.field(description="When the URL stops working; null with `error`.")
    size_bytes: float | None = strawberry.field(description="Bytes, when known (a Float: files can exceed 2^31).")
    error: DownloadError | None = strawberry.field(
        default=None, description="Why there is no URL; null when there is one."
    )

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
    file: AudioFile | None = strawberry.field(description="The current file.")
    offset_seconds: float = strawberry.field(description="Position within the current file.")
    percent: float = strawberry.field(description="0 to 100.")
    finished: bool = strawberry.field(description="Within 10 seconds of the end.")
    updated_at: datetime = strawberry.field(description="When the position was saved.")

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


@strawberry.type(description="An audiobook the viewer owns, with links to download it.")
class LibraryItem:
    audiobook: Audiobook = strawberry.field(description="The audiobook.")
    purchased_at: datetime = strawberry.field(description="When the viewer got it.")
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


@strawberry.type(description="Whole downloads of one kind.")
class DownloadKindCount:
    kind: DownloadKind = strawberry.field(description="What was downloaded.")  # type: ignore[valid-type]
    download_count: int = strawberry.field(description="Requests from byte 0.")


@strawberry.type(description="Download audit counts for one audiobook (admins).")
class DownloadStats:
    audiobook: Audiobook = strawberry.field(description="The audiobook counted.")
    request_count: int = strawberry.field(description="Every served request, ranged ones included.")
    download_count: int = strawberry.field(description="Requests from byte 0: whole downloads and first plays.")
    unique_users: int = strawberry.field(description="Distinct users who downloaded anything of it.")
    last_downloaded_at: datetime | None = strawberry.field(description="The latest served request.")
    by_kind: list[DownloadKindCount] = strawberry.field(description="Whole downloads per kind.")

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
