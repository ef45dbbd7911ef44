"""Meaning search and similar books: the read side of the embeddings (services/embeddings.py).

`semantic_page` ranks books by how close their vectors (the BOOK text and each transcript passage) are
to the query's vector, blended with the full-text rank of a text query:

    score = best cosine similarity among the book's vectors + TEXT_WEIGHT * ts_rank_cd(text query)

The text query is `search` when given (which then also filters, as in the plain catalog), else the
`semantic` string itself, so a book that literally says what was asked gains a little over one that only
means it. The nearest CANDIDATES vectors (HNSW index, cosine) are read and grouped per book; every
book keeps its best matches (passage text and start time, or its summary) for the answer.

Only vectors of the query's own provider and model are compared. Drafts are filtered inside the nearest-
neighbour query, so they can neither appear nor push published books out of the candidates.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, func, inspect, literal, select, text, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Audiobook, Embedding, EmbeddingKind
from audiocity.services import catalog
from audiocity.services.catalog import CatalogFilter
from audiocity.services.embeddings import vectors_available
from audiocity.services.errors import ErrorCode, ServiceError
from audiocity.services.pagination import Key, Page, id_key, keyset_cursor, keyset_query, page_size, score_key
from audiocity.services.search import use_similarity_threshold

CANDIDATES = 400  # nearest vectors read per query, before grouping them by book (hnsw.ef_search allows 1000)
TEXT_WEIGHT = 0.3  # how much a full-text hit adds to a meaning score (cosine similarity, at most 1)
MATCHES_PER_BOOK = 3
MAX_SIMILAR = 50


class SemanticUnavailable(Exception):
    """Meaning search cannot run here (no pgvector, or no embedding model); says what would fix it."""


@dataclass(frozen=True)
class Match:
    """Where a book met the query: a transcript passage (with its start) or the book's summary."""

    kind: EmbeddingKind
    text: str
    start_seconds: float | None
    similarity: float


async def require_vectors(session: AsyncSession) -> None:
    if not await vectors_available(session):
        raise SemanticUnavailable(
            "Meaning search is unavailable: this server's PostgreSQL has no pgvector extension "
            "(install pgvector and run the migrations again)."
        )


async def widen_index_scan(session: AsyncSession) -> None:
    """Let the HNSW index return CANDIDATES rows: by default it stops at `hnsw.ef_search` (40), and
    with pgvector >= 0.8 it keeps scanning when filters (model, drafts, category) drop rows.

    Session-level settings (catalog reads run without a transaction, so SET LOCAL would not last):
    they stay on the pooled connection, where they only ever affect HNSW scans, which all want them.
    """
    version = await session.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
    iterative = _version(version) >= (0, 8)
    await session.execute(
        text(
            "SELECT set_config('hnsw.ef_search', :candidates, false)"
            + (", set_config('hnsw.iterative_scan', 'strict_order', false)" if iterative else "")
        ),
        {"candidates": str(CANDIDATES)},
    )


def _version(value: object) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(value or "0").split("."))
    except ValueError:
        return (0,)


def _matches(raw: Any) -> list[Match]:
    items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return [
        Match(EmbeddingKind(kind), snippet, None if start is None else float(start), float(similarity))
        for kind, snippet, start, similarity in items[:MATCHES_PER_BOOK]
    ]


async def semantic_page(
    session: AsyncSession,
    *,
    vector: list[float],
    provider: str,
    model: str,
    text_query: str,
    first: int | None,
    after: str | None,
    search: str | None = None,
    flt: CatalogFilter | None = None,
    include_drafts: bool = False,
    with_text: bool = False,
    with_categories: bool = False,
    owned_by: uuid.UUID | None = None,
) -> Page[Any]:
    """A page of catalog rows (the columns `catalog.list_audiobook_rows` gives) ranked by meaning, each with
    `score` and `matches` (a list of Match). Keyset pagination over (score, id)."""
    limit = page_size(first)
    catalog.check_search(search, flt)
    catalog.check_search(text_query)
    await require_vectors(session)
    await widen_index_scan(session)
    found = catalog._text_search(search)
    if found is not None:
        await use_similarity_threshold(session)
    conditions = catalog._filters(found, flt, include_drafts)
    vectors: Any = _embeddings().c.embedding  # pgvector's comparator
    distance = vectors.cosine_distance(vector)
    hits = (
        select(
            col(Embedding.audiobook_id).label("book_id"),
            col(Embedding.kind).label("kind"),
            col(Embedding.text).label("text"),
            col(Embedding.start_seconds).label("start_seconds"),
            (1 - distance).label("similarity"),
        )
        .join(Audiobook, col(Audiobook.id) == col(Embedding.audiobook_id))
        .where(col(Embedding.provider) == provider, col(Embedding.model) == model, *conditions)
        .order_by(distance)
        .limit(CANDIDATES)
        .cte("hits")
    )
    item = func.json_build_array(hits.c.kind, hits.c.text, hits.c.start_seconds, hits.c.similarity)
    best = (
        select(
            hits.c.book_id,
            func.max(hits.c.similarity).label("meaning"),
            func.json_agg(aggregate_order_by(item, hits.c.similarity.desc())).label("matches"),
        )
        .group_by(hits.c.book_id)
        .cte("best")
    )
    query = text_query.strip() or " "
    rank = func.ts_rank_cd(
        Audiobook.search_vector, func.websearch_to_tsquery("english", search.strip() if search else query), 32
    )
    score = type_coerce(best.c.meaning + literal(TEXT_WEIGHT) * rank, Float)
    total = select(func.count()).select_from(best).scalar_subquery()
    columns: list[Any] = [
        *catalog.CARD_COLUMNS,
        total.label("total"),
        score.label("score"),
        best.c.matches,
        *catalog.asked_columns(with_text, with_categories, owned_by),
    ]
    statement = select(*columns).select_from(best).join(Audiobook, col(Audiobook.id) == best.c.book_id)
    keys: list[Key[Any]] = [score_key(score, lambda r: r.score), id_key(col(Audiobook.id), lambda r: r.id)]
    statement = keyset_query(statement, keys, after=after, limit=limit, descending=True)
    rows = list((await session.execute(statement)).all())
    # an empty page (past the end, or first: 0) still reports the total
    count = int(rows[0].total) if rows else int(await session.scalar(select(func.count()).select_from(best)) or 0)
    items = [_with_matches(row) for row in rows[:limit]]
    return Page(
        items=items,
        cursors=[keyset_cursor(keys, row) for row in items],
        has_next_page=len(rows) > limit,
        total_count=count,
    )


@dataclass(frozen=True)
class _Row:
    """A catalog row plus its parsed matches (rows from SQLAlchemy are immutable)."""

    row: Any
    matches: list[Match]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def _with_matches(row: Any) -> Any:
    return _Row(row, _matches(row.matches))


def _embeddings() -> Any:
    """The embeddings table, typed loosely: pgvector's distance operators are not in SQLAlchemy's stubs."""
    return inspect(Embedding).local_table


async def similar_books(
    session: AsyncSession,
    book_ids: list[uuid.UUID],
    *,
    provider: str,
    model: str,
    first: int,
    include_drafts: bool,
) -> dict[uuid.UUID, list[Any]]:
    """For each book, up to `first` other books whose BOOK vectors are nearest to its own (same model),
    nearest first, ties by id: one statement for all the books (a LATERAL join per source book).

    A book without a vector of this model has no similar books. Returns Audiobook card rows.
    """
    if not 0 <= first <= MAX_SIMILAR:
        raise ServiceError(ErrorCode.INVALID, f"`first` must be between 0 and {MAX_SIMILAR}.", "first")
    out: dict[uuid.UUID, list[Any]] = {book_id: [] for book_id in book_ids}
    if not book_ids or first == 0:
        return out
    await require_vectors(session)
    await widen_index_scan(session)
    source = (
        select(col(Embedding.audiobook_id).label("source_id"), col(Embedding.embedding).label("vector"))
        .where(
            col(Embedding.audiobook_id).in_(book_ids),
            col(Embedding.kind) == EmbeddingKind.BOOK.value,
            col(Embedding.provider) == provider,
            col(Embedding.model) == model,
        )
        .subquery("source")
    )
    other = _embeddings().alias("other")
    distance = other.c.embedding.cosine_distance(source.c.vector)
    visible = [] if include_drafts else [col(Audiobook.published).is_(True)]
    near = (
        select(*catalog.CARD_COLUMNS, distance.label("distance"))
        .select_from(other)
        .join(Audiobook, col(Audiobook.id) == other.c.audiobook_id)
        .where(
            other.c.kind == EmbeddingKind.BOOK.value,
            other.c.provider == provider,
            other.c.model == model,
            other.c.audiobook_id != source.c.source_id,
            *visible,
        )
        .order_by(distance, col(Audiobook.id))
        .limit(first)
        .lateral("near")
    )
    statement = (
        select(source.c.source_id, near)
        .select_from(source)
        .join(near, and_(True))
        .order_by(source.c.source_id, near.c.distance, near.c.id)
    )
    for row in (await session.execute(statement)).all():
        out[row.source_id].append(row)
    return out
