from __future__ import annotations

from datetime import datetime

import strawberry

from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.common import DownloadKind
from audiocity.services.library import DownloadLink as DownloadLinkModel


@strawberry.type(description="A signed link that stops working at `expiresAt`.")
class DownloadLink:
    kind: DownloadKind  # type: ignore[valid-type]
    file_name: str
    url: str
    expires_at: datetime
    size_bytes: float | None

    @classmethod
    def from_model(cls, link: DownloadLinkModel) -> DownloadLink:
        return cls(
            kind=link.kind,
            file_name=link.file_name,
            url=link.url,
            expires_at=link.expires_at,
            size_bytes=float(link.size_bytes) if link.size_bytes is not None else None,
        )


@strawberry.type
class LibraryItem:
    audiobook: Audiobook
    purchased_at: datetime
    downloads: list[DownloadLink] = strawberry.field(
        description="Each audio file in play order, then the transcript as text and as WebVTT."
    )
