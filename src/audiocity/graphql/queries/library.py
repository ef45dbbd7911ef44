"""What the viewer owns, with freshly minted download links and listening progress; download counts for admins."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import Connection, decode_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.library import DownloadStats, LibraryItem, LibraryOrder, ListeningProgress
from audiocity.services import catalog, downloads, library, progress
from audiocity.services.downloads import LinkMinter
from audiocity.services.errors import ServiceError
from audiocity.services.library import LibraryOrder as LibraryOrderModel


@strawberry.type
class LibraryQueries:
    @strawberry.field(description="Audiobooks the viewer owns (bought or granted), with fresh download links.")
    async def library(
        self,
        info: Info[Context, None],
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        order_by: LibraryOrder = LibraryOrderModel.RECENTLY_PURCHASED,  # type: ignore[valid-type]
    ) -> Connection[LibraryItem]:
        user = await require_user(info)
        res = info.context.resources
        async with res.sessions() as s:
            try:
                page = await library.list_library(
                    s, user.id, first=first, after=after, search=search, order=LibraryOrderModel(order_by)
                )
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
            book_ids = [e.audiobook.id for e in page.items]
            files = await catalog.files_for_books(s, book_ids)
            sizes = await downloads.transcript_sizes(s, book_ids)
        minter = LinkMinter(
            storage=res.storage,
            secret=res.secret,
            base_url=res.settings.base_url,
            ttl_seconds=res.settings.download_url_ttl_seconds,
            user_id=user.id,
        )
        nodes = []
        for e in page.items:
            book_files = files[e.audiobook.id]
            located = progress.locate(e.listened, book_files) if e.listened is not None else None
            nodes.append(
                LibraryItem(
                    audiobook=Audiobook.from_model(e.audiobook),
                    purchased_at=e.purchased_at,
                    progress=ListeningProgress.from_model(located) if located is not None else None,
                    book=e.audiobook,
                    files=book_files,
                    transcript_bytes=sizes.get(e.audiobook.id),
                    minter=minter,
                )
            )
        return Connection[LibraryItem].build(nodes, page.cursors, page.has_next_page, page.total_count)

    @strawberry.field(description="How often an audiobook was downloaded (admins).")
    async def download_stats(self, info: Info[Context, None], audiobook_id: strawberry.ID) -> DownloadStats:
        await require_admin(info)
        book_id = decode_id(audiobook_id, "Audiobook")
        async with info.context.resources.sessions() as s:
            try:
                book, stats = await downloads.download_stats(s, book_id)
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
        return DownloadStats.build(book, stats)
