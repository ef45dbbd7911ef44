"""Minting a library entry's download links: one file link per audio file and transcript, and the ZIP bundle.

GraphQL asks for links only when a client selects them; this module decides what they are, from the
plain values of the application container (storage, secret, base URL, link lifetime).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from audiocity.models import Audiobook, AudioFile, DownloadKind
from audiocity.services import bundles
from audiocity.services.library import DownloadLink, download_links
from audiocity.storage import Storage


@dataclass(frozen=True)
class LinkMinter:
    """What minting one viewer's links needs; callers mint only for books the viewer is entitled to."""

    storage: Storage
    secret: str
    base_url: str
    ttl_seconds: int
    user_id: uuid.UUID

    def file_links(
        self, book: Audiobook, files: list[AudioFile], transcript_bytes: dict[str, int] | None
    ) -> list[DownloadLink]:
        """Blocking when the backend signs through a network call: run it off the event loop."""
        return download_links(
            self.storage,
            user_id=self.user_id,
            book=book,
            files=files,
            ttl_seconds=self.ttl_seconds,
            transcript_bytes=transcript_bytes,
        )

    def bundle_link(
        self, book: Audiobook, files: list[AudioFile], transcript_bytes: Mapping[str, int] | None
    ) -> DownloadLink | None:
        """A link to the app's ZIP of the whole book; None when there is nothing to download yet."""
        members = bundles.members_for(book, files, transcript_bytes)
        if not members:
            return None
        name = bundles.bundle_file_name(book)
        signed = bundles.bundle_url(
            self.base_url,
            self.secret,
            audiobook_id=str(book.id),
            user_id=str(self.user_id),
            filename=name,
            expires_in=self.ttl_seconds,
        )
        return DownloadLink(
            kind=DownloadKind.BUNDLE,
            file_name=name,
            url=signed.url,
            expires_at=signed.expires_at,
            size_bytes=bundles.zip_size(members),
        )
