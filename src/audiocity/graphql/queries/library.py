"""What the viewer owns, with freshly minted download links."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.permissions import require_user
from audiocity.graphql.relay import Connection
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.library import DownloadLink, LibraryItem
from audiocity.services import catalog, library
from audiocity.services.errors import ServiceError


@strawberry.type
class LibraryQueries:
    @strawberry.field(description="Audiobooks the viewer owns, with fresh download links.")
    async def library(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Connection[LibraryItem]:
        user = await require_user(info)
        res = info.context.resources
        async with res.sessions() as s:
            try:
                page = await library.list_library(s, user.id, first=first, after=after)
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
            files = await catalog.files_for_books(s, [e.audiobook.id for e in page.items])
        nodes = [
            LibraryItem(
                audiobook=Audiobook.from_model(e.audiobook),
                purchased_at=e.purchased_at,
                downloads=[
                    DownloadLink.from_model(link)
                    for link in library.download_links(
                        res.storage,
                        user_id=user.id,
                        book=e.audiobook,
                        files=files[e.audiobook.id],
                        ttl_seconds=res.settings.download_url_ttl_seconds,
                    )
                ],
            )
            for e in page.items
        ]
        return Connection[LibraryItem].build(nodes, page.cursors, page.has_next_page, page.total_count)
