"""`audiobooks(semantic:)`: embed the query (off the event loop, cached), rank by meaning, return matches."""

from __future__ import annotations

import html
import uuid

from graphql import GraphQLError
from strawberry.types import Info

from audiocity.ai.base import PermanentAIError, TransientAIError
from audiocity.extras import MissingExtra
from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.search import AudiobookConnection, SearchField, SearchMatch
from audiocity.models import EmbeddingKind
from audiocity.services import catalog, semantic
from audiocity.services.catalog import CatalogFilter
from audiocity.services.errors import ServiceError

_FIELDS = {EmbeddingKind.PASSAGE: SearchField.TRANSCRIPT, EmbeddingKind.BOOK: SearchField.SUMMARY}


def unavailable(message: str) -> GraphQLError:
    """Meaning search cannot run on this server (or its provider failed): a coded error, never a 500."""
    return GraphQLError(message, extensions={"code": "UNAVAILABLE"})


async def query_vector(info: Info[Context, None], text: str) -> list[float]:
    """The query's vector from the process's QueryEmbedder, or an UNAVAILABLE error saying why not."""
    try:
        return await info.context.resources.query_embedder.vector(text)
    except MissingExtra as exc:
        raise unavailable(f"Meaning search is unavailable: no embedding model is installed ({exc})") from None
    except (TransientAIError, PermanentAIError):
        raise unavailable("Meaning search is unavailable right now: the query could not be embedded.") from None


def to_matches(found: list[semantic.Match]) -> list[SearchMatch]:
    """The passage is the snippet, escaped like text search's snippets (nothing is highlighted)."""
    return [
        SearchMatch(field=_FIELDS[m.kind], snippet=html.escape(m.text, quote=False), start_seconds=m.start_seconds)
        for m in found
    ]


async def semantic_audiobooks(
    info: Info[Context, None],
    text: str,
    *,
    first: int | None,
    after: str | None,
    search: str | None,
    flt: CatalogFilter | None,
    include_drafts: bool,
    wanted: set[str],
    owned_by: uuid.UUID | None,
    anonymous_owned: bool | None,
) -> AudiobookConnection:
    """The meaning-ranked page; `owned_by` and `anonymous_owned` as in the plain catalog page."""
    if not text.strip():
        raise bad_input("`semantic` must not be empty.")
    try:
        catalog.check_search(text)
    except ServiceError as exc:
        raise bad_input(exc.message.replace("Search", "`semantic`")) from exc
    embedder = info.context.resources.query_embedder
    async with info.context.catalog_reads(include_drafts) as s:
        try:
            await semantic.require_vectors(s)  # before loading a model that could not be used
        except semantic.SemanticUnavailable as exc:
            raise unavailable(str(exc)) from None
    vector = await query_vector(info, text)
    async with info.context.catalog_reads(include_drafts) as s:
        try:
            page = await semantic.semantic_page(
                s, vector=vector, provider=embedder.provider, model=embedder.model, text_query=text,
                first=first, after=after, search=search, flt=flt, include_drafts=include_drafts,
                with_text=bool(wanted & {"description", "summary"}), with_categories="categories" in wanted,
                owned_by=owned_by,
            )  # fmt: skip
        except semantic.SemanticUnavailable as exc:
            raise unavailable(str(exc)) from None
        except ServiceError as exc:
            raise bad_input(exc.message) from exc
        files = None
        if "files" in wanted:
            files = await catalog.file_rows_for_books(s, [b.id for b in page.items])
    nodes = [
        Audiobook.from_row(b, None if files is None else files[b.id], b.owned if owned_by else anonymous_owned)
        for b in page.items
    ]
    matches = [to_matches(b.matches) for b in page.items]
    return AudiobookConnection.build(nodes, page.cursors, page.has_next_page, page.total_count, matches)
