"""Catalog queries: anyone may browse; admins also see drafts."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.nodes import node_fetcher
from audiocity.graphql.permissions import optional_user
from audiocity.graphql.queries.semantic import semantic_audiobooks
from audiocity.graphql.relay import decode_id
from audiocity.graphql.selection import selected_names
from audiocity.graphql.types.audiobook import Audiobook, AudioFile, Category, Series
from audiocity.graphql.types.common import AudiobookSort
from audiocity.graphql.types.search import AudiobookConnection, SearchMatch
from audiocity.models import Role
from audiocity.services import catalog, credits
from audiocity.services import search as text_search
from audiocity.services.catalog import CatalogFilter
from audiocity.services.errors import NotFound, ServiceError


@strawberry.input(description="Narrow the catalog; every field set must match.")
class AudiobookFilter:
    category: str | None = strawberry.field(default=strawberry.UNSET, description="A category slug.")
    author: str | None = strawberry.field(
        default=strawberry.UNSET, description="An author's full name (case does not matter): all books by them."
    )
    narrator: str | None = strawberry.field(
        default=strawberry.UNSET, description="A narrator's full name (case does not matter)."
    )
    series: str | None = strawberry.field(
        default=strawberry.UNSET, description="A series' name (case does not matter): the books in it."
    )
    language: str | None = strawberry.field(default=strawberry.UNSET, description="A language tag, e.g. `en`.")
    tag: str | None = strawberry.field(default=strawberry.UNSET, description="One of the AI-written tags.")


def _plain(value: str | None) -> str | None:
    return value if isinstance(value, str) else None


@node_fetcher("Audiobook")
async def _audiobook(info: Info[Context, None], id: strawberry.ID) -> Audiobook | None:
    viewer = await optional_user(info)
    book_id = decode_id(id, "Audiobook")
    admin = viewer is not None and viewer.role == Role.ADMIN
    async with info.context.catalog_reads(admin) as s:
        try:
            book = await catalog.visible_audiobook(
                s, book_id, include_drafts=admin, viewer_id=viewer.id if viewer is not None else None
            )
        except NotFound:
            return None
    return Audiobook.from_model(book)


@node_fetcher("Series")
async def _series(info: Info[Context, None], id: strawberry.ID) -> Series | None:
    series_id = decode_id(id, "Series")
    async with info.context.catalog_reads(False) as s:
        found = await credits.get_series(s, series_id)
    return Series.from_model(found) if found is not None else None


@node_fetcher("AudioFile")
async def _audio_file(info: Info[Context, None], id: strawberry.ID) -> AudioFile | None:
    file_id = decode_id(id, "AudioFile")
    admin = await info.context.is_admin()
    async with info.context.resources.sessions() as s:
        try:
            found = await catalog.get_audio_file(s, file_id, include_drafts=admin)
        except NotFound:
            return None
    return AudioFile.from_model(found)


@node_fetcher("Category")
async def _category(info: Info[Context, None], id: strawberry.ID) -> Category | None:
    category_id = decode_id(id, "Category")
    async with info.context.resources.sessions() as s:
        try:
            found = await catalog.get_category(s, category_id)
        except NotFound:
            return None
    return Category.from_model(found)


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="The catalog: published audiobooks (admins also see drafts).")
    async def audiobooks(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Continue after this cursor (`pageInfo.endCursor`).")
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "Search title, authors, narrators, tags, summary, description and transcript, ranked by "
                    'relevance: web-search syntax (`"a phrase"`, `or`, `-word`), typos forgiven in titles '
                    "and names, the last word matched as a prefix. See `matches` on the edges."
                )
            ),
        ] = None,
        filter: Annotated[
            AudiobookFilter | None, strawberry.argument(description="Only audiobooks matching every field set.")
        ] = None,
        sort: Annotated[
            AudiobookSort | None,  # type: ignore[valid-type]
            strawberry.argument(
                description="The order of the results; by default RELEVANCE with a search, else NEWEST."
            ),
        ] = None,
        semantic: Annotated[
            str | None,
            strawberry.argument(
                description="Meaning search: rank by closeness in meaning to this text (summary and transcript "
                "passages), blended with its full-text rank; `sort` is ignored. Edges' `matches` give the "
                "passage and its time. Fails with code UNAVAILABLE where the server has no pgvector or no "
                "embedding model."
            ),
        ] = None,
    ) -> AudiobookConnection:
        flt = None
        if filter is not None:
            flt = CatalogFilter(
                category=_plain(filter.category),
                author=_plain(filter.author),
                narrator=_plain(filter.narrator),
                language=_plain(filter.language),
                tag=_plain(filter.tag),
                series=_plain(filter.series),
            )
        viewer = await optional_user(info)
        include_drafts = viewer is not None and viewer.role == Role.ADMIN
        wanted = selected_names(info)
        owned_by = viewer.id if viewer is not None and "owned" in wanted else None
        anonymous_owned = False if viewer is None else None  # an anonymous viewer owns nothing
        if semantic is not None:
            return await semantic_audiobooks(
                info, semantic, first=first, after=after, search=search, flt=flt, include_drafts=include_drafts,
                wanted=wanted, owned_by=owned_by, anonymous_owned=anonymous_owned,
            )  # fmt: skip
        async with info.context.catalog_reads(include_drafts) as s:
            try:
                page = await catalog.list_audiobook_rows(
                    s, first=first, after=after, search=search, flt=flt, sort=sort, include_drafts=include_drafts,
                    with_text=bool(wanted & {"description", "summary"}), with_categories="categories" in wanted,
                    owned_by=owned_by,
                )  # fmt: skip
            except ServiceError as exc:
                raise bad_input(exc.message) from exc
            files = None
            if "files" in wanted:
                files = await catalog.file_rows_for_books(s, [b.id for b in page.items])
            matches = None
            if "matches" in wanted and search is not None:
                found = await text_search.matches_for_books(s, [b.id for b in page.items], search)
                matches = [[SearchMatch.from_match(m) for m in found[b.id]] for b in page.items]
        nodes = [
            Audiobook.from_row(b, None if files is None else files[b.id], b.owned if owned_by else anonymous_owned)
            for b in page.items
        ]
        return AudiobookConnection.build(nodes, page.cursors, page.has_next_page, page.total_count, matches)

    @strawberry.field(description="One audiobook; null if there is none the viewer may see.")
    async def audiobook(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook's ID.")],
    ) -> Audiobook | None:
        return await _audiobook(info, id)

    @strawberry.field(description="Categories with the number of audiobooks the viewer can see in each.")
    async def categories(self, info: Info[Context, None]) -> list[Category]:
        admin = await info.context.is_admin()
        async with info.context.catalog_reads(admin) as s:
            rows = await catalog.categories_with_counts(s, include_drafts=admin)
        return [Category.from_model(c, n) for c, n in rows]
