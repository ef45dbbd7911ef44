"""Creating, changing and listing audiobooks."""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import col

from audiocity.models import (
    Audiobook,
    AudiobookCategory,
    AudioFile,
    CatalogVersion,
    Category,
    ContributorRole,
    Entitlement,
    OrderLine,
    utcnow,
)
from audiocity.services import credits, embeddings, previews, storage_keys
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.isbn import normalize_isbn
from audiocity.services.pagination import (
    Cursors,
    Key,
    Page,
    id_key,
    int_key,
    keyset_cursor,
    keyset_params,
    keyset_query,
    keyset_statement,
    page_size,
    score_key,
    text_key,
    time_key,
)
from audiocity.services.search import TextSearch, library_condition, normalized, use_similarity_threshold
from audiocity.services.search import params as search_params
from audiocity.services.search import shape as search_shape

CURRENCY = re.compile(r"^[A-Z]{3}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_SEARCH_CHARS = 500
MAX_FILTER_CHARS = 200
MAX_DESCRIPTION_CHARS = 50_000
MAX_URL_CHARS = 2_000
MAX_LANGUAGE_CHARS = 16  # the column's width; BCP 47 tags in use are far shorter
MAX_NAMES = 50
MIN_YEAR, MAX_YEAR = 1000, 2100


class Sort(enum.StrEnum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    TITLE = "TITLE"
    PRICE_LOW = "PRICE_LOW"
    PRICE_HIGH = "PRICE_HIGH"
    RELEVANCE = "RELEVANCE"


def effective_sort(sort: Sort | None, search: str | None) -> Sort:
    """No sort given: by relevance when searching, else newest first. Relevance without a search is newest."""
    searching = search_text(search) is not None
    if sort is None or (sort is Sort.RELEVANCE and not searching):
        return Sort.RELEVANCE if searching else Sort.NEWEST
    return sort


@dataclass
class AudiobookInput:
    """Fields an admin sets; `None` means "leave unchanged" on update."""

    title: str | None = None
    subtitle: str | None = None
    description: str | None = None
    authors: list[str] | None = None
    narrators: list[str] | None = None
    categories: list[str] | None = None
    language: str | None = None
    price_cents: int | None = None
    currency: str | None = None
    cover_url: str | None = None
    series: str | None = None  # a name; "" takes the book out of its series
    series_position: float | None = None
    published_year: int | None = None
    publisher: str | None = None  # "" clears
    isbn: str | None = None  # ISBN-10 or -13, stored as ISBN-13; "" clears


@dataclass
class CatalogFilter:
    category: str | None = None
    author: str | None = None
    narrator: str | None = None
    language: str | None = None
    tag: str | None = None
    series: str | None = None
    owned_by: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _clean_names(names: list[str], field_name: str) -> list[str]:
    cleaned = [n.strip() for n in names if n.strip()]
    if len(cleaned) > MAX_NAMES:
        raise ServiceError(ErrorCode.INVALID, f"At most {MAX_NAMES} names.", field_name)
    if any(len(n) > 200 for n in cleaned):
        raise ServiceError(ErrorCode.INVALID, "Names are limited to 200 characters.", field_name)
    return list(dict.fromkeys(cleaned))


def _validate(data: AudiobookInput, creating: bool) -> None:
    if creating and not (data.title or "").strip():
        raise ServiceError(ErrorCode.INVALID, "Title is required.", "title")
    if data.title is not None and not (0 < len(data.title.strip()) <= 500):
        raise ServiceError(ErrorCode.INVALID, "Title must be 1 to 500 characters.", "title")
    if creating and data.price_cents is None:
        raise ServiceError(ErrorCode.INVALID, "Price is required.", "priceCents")
    if data.price_cents is not None and not (0 <= data.price_cents <= 100_000_00):
        raise ServiceError(ErrorCode.INVALID, "Price must be between 0 and 100000.00.", "priceCents")
    if data.currency is not None and not CURRENCY.match(data.currency):
        raise ServiceError(ErrorCode.INVALID, "Currency must be an ISO 4217 code like USD.", "currency")
    if data.subtitle is not None and len(data.subtitle.strip()) > 500:
        raise ServiceError(ErrorCode.TOO_LONG, "Subtitle is limited to 500 characters.", "subtitle")
    if data.description is not None and len(data.description) > MAX_DESCRIPTION_CHARS:
        raise ServiceError(
            ErrorCode.TOO_LONG, f"Description is limited to {MAX_DESCRIPTION_CHARS} characters.", "description"
        )
    if data.cover_url is not None and len(data.cover_url) > MAX_URL_CHARS:
        raise ServiceError(ErrorCode.TOO_LONG, f"Cover URL is limited to {MAX_URL_CHARS} characters.", "coverUrl")
    if data.language is not None and (len(data.language) > MAX_LANGUAGE_CHARS or not LANGUAGE.match(data.language)):
        raise ServiceError(ErrorCode.INVALID, "Language must be a BCP 47 tag like en or en-GB.", "language")
    if data.series is not None and len(data.series.strip()) > 200:
        raise ServiceError(ErrorCode.TOO_LONG, "Series names are limited to 200 characters.", "series")
    if data.series_position is not None and not (0 <= data.series_position <= 100_000):
        raise ServiceError(ErrorCode.INVALID, "Series position must be between 0 and 100000.", "seriesPosition")
    if data.published_year is not None and not (MIN_YEAR <= data.published_year <= MAX_YEAR):
        raise ServiceError(
            ErrorCode.INVALID, f"Publication year must be between {MIN_YEAR} and {MAX_YEAR}.", "publishedYear"
        )
    if data.publisher is not None and len(data.publisher.strip()) > 200:
        raise ServiceError(ErrorCode.TOO_LONG, "Publisher is limited to 200 characters.", "publisher")
    if data.isbn is not None and len(data.isbn) > 40:
        raise ServiceError(ErrorCode.INVALID, "Not a valid ISBN-10 or ISBN-13.", "isbn")


async def _set_metadata(session: AsyncSession, book: Audiobook, data: AudiobookInput) -> None:
    """Series, year, publisher and ISBN: the fields set in `data` (validated by `_validate`)."""
    if data.series is not None:
        name = data.series.strip()
        book.series_id = await credits.series_id_for(session, name) if name else None
        if not name:
            book.series_position = None
    if data.series_position is not None:
        book.series_position = data.series_position
    if data.published_year is not None:
        book.published_year = data.published_year
    if data.publisher is not None:
        book.publisher = data.publisher.strip() or None
    if data.isbn is not None:
        book.isbn = normalize_isbn(data.isbn) if data.isbn.strip() else None


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "category"


async def _set_categories(session: AsyncSession, book_id: uuid.UUID, names: list[str]) -> None:
    await session.execute(delete(AudiobookCategory).where(col(AudiobookCategory.audiobook_id) == book_id))
    by_slug = {slugify(name): name for name in reversed(_clean_names(names, "categories"))}  # "Sci Fi" = "sci-fi"
    for slug, name in reversed(by_slug.items()):
        # a renamed category keeps answering to its name, whatever slug it has
        category = (
            await session.execute(
                select(Category)
                .where(or_(col(Category.slug) == slug, func.lower(col(Category.name)) == name.lower()))
                .limit(1)
            )
        ).scalar_one_or_none()
        if category is None:
            category = Category(name=name, slug=slug)
            session.add(category)
            await session.flush()
        session.add(AudiobookCategory(audiobook_id=book_id, category_id=category.id))
    await session.flush()


# The SET list of `UPDATE audiobooks b`: the weighted full-text document, title (A), people (B),
# summary/tags/description (C), and the names for typo-tolerant search. The transcript is searched in
# its passages (weight D), not here. The metadata that later joins the document goes here too.
SEARCH_DOCUMENT_SQL = """
    search_vector =
        setweight(to_tsvector('english', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
     || setweight(to_tsvector('simple', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
     || setweight(to_tsvector('simple', array_to_string(b.authors, ' ') || ' '
                                      || array_to_string(b.narrators, ' ') || ' '
                                      || coalesce((SELECT s.name FROM series s WHERE s.id = b.series_id), '')), 'B')
     || setweight(to_tsvector('english', coalesce(b.summary, '') || ' '
                                      || array_to_string(b.tags, ' ') || ' ' || b.description), 'C'),
    search_names = concat_ws(' ', b.title, nullif(array_to_string(b.authors, ' '), ''),
                             nullif(array_to_string(b.narrators, ' '), ''),
                             (SELECT s.name FROM series s WHERE s.id = b.series_id))
"""


async def refresh_search_vector(session: AsyncSession, book_id: uuid.UUID) -> None:
    """Rebuild the book's search document (`SEARCH_DOCUMENT_SQL`) after its text changed."""
    await session.execute(text(f"UPDATE audiobooks b SET {SEARCH_DOCUMENT_SQL} WHERE b.id = :id"), {"id": book_id})


async def create_audiobook(session: AsyncSession, data: AudiobookInput) -> Audiobook:
    _validate(data, creating=True)
    assert data.title is not None and data.price_cents is not None
    book = Audiobook(
        title=data.title.strip(),
        subtitle=(data.subtitle or "").strip() or None,
        description=data.description or "",
        authors=_clean_names(data.authors or [], "authors"),
        narrators=_clean_names(data.narrators or [], "narrators"),
        language=data.language or "en",
        price_cents=data.price_cents,
        currency=data.currency or "USD",
        cover_url=data.cover_url,
    )
    await _set_metadata(session, book, data)
    session.add(book)
    await session.flush()
    await credits.set_credits(session, book.id, ContributorRole.AUTHOR, book.authors)
    await credits.set_credits(session, book.id, ContributorRole.NARRATOR, book.narrators)
    await _set_categories(session, book.id, data.categories or [])
    await refresh_search_vector(session, book.id)
    return book


async def get_audiobook(session: AsyncSession, book_id: uuid.UUID, *, include_drafts: bool) -> Audiobook:
    book = await session.get(Audiobook, book_id)
    if book is None or book.deleted_at is not None or (not book.published and not include_drafts):
        raise NotFound("Audiobook")
    return book


async def get_audio_file(session: AsyncSession, file_id: uuid.UUID, *, include_drafts: bool) -> AudioFile:
    """A file of a book the viewer may see (a draft's files only with `include_drafts`)."""
    found = await session.get(AudioFile, file_id)
    if found is None:
        raise NotFound("AudioFile")
    await get_audiobook(session, found.audiobook_id, include_drafts=include_drafts)
    return found


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> Category:
    found = await session.get(Category, category_id)
    if found is None:
        raise NotFound("Category")
    return found


async def update_audiobook(session: AsyncSession, book_id: uuid.UUID, data: AudiobookInput) -> Audiobook:
    _validate(data, creating=False)
    book = await get_audiobook(session, book_id, include_drafts=True)
    before = (book.title, book.description)
    if data.title is not None:
        book.title = data.title.strip()
    if data.subtitle is not None:
        book.subtitle = data.subtitle.strip() or None
    if data.description is not None:
        book.description = data.description
    if data.authors is not None:
        book.authors = _clean_names(data.authors, "authors")
        await credits.set_credits(session, book.id, ContributorRole.AUTHOR, book.authors)
    if data.narrators is not None:
        book.narrators = _clean_names(data.narrators, "narrators")
        await credits.set_credits(session, book.id, ContributorRole.NARRATOR, book.narrators)
    await _set_metadata(session, book, data)
    if data.language is not None:
        book.language = data.language
    if data.price_cents is not None:
        book.price_cents = data.price_cents
    if data.currency is not None:
        book.currency = data.currency
    if data.cover_url is not None:
        book.cover_url = data.cover_url or None
    book.updated_at = utcnow()
    await session.flush()
    if data.categories is not None:
        await _set_categories(session, book.id, data.categories)
    await refresh_search_vector(session, book.id)
    if (book.title, book.description) != before:  # meaning search reads both
        await embeddings.queue_refresh(session, book.id)
    return book


async def publish_audiobook(session: AsyncSession, book_id: uuid.UUID, published: bool) -> Audiobook:
    book = await get_audiobook(session, book_id, include_drafts=True)
    if published:
        count = await session.scalar(
            select(func.count()).select_from(AudioFile).where(col(AudioFile.audiobook_id) == book_id)
        )
        if not count:
            raise ServiceError(
                ErrorCode.NO_AUDIO_FILES, "Upload at least one audio file before publishing.", "published"
            )
    book.published = published
    book.updated_at = utcnow()
    await session.flush()
    if published:  # (re)cut the sample clip in a worker; the request does not wait for the encoding
        await previews.queue_cut(session, book_id)
    return book


@dataclass(frozen=True)
class Deletion:
    """What `delete_audiobook` did: `soft` kept the rows for owners; `storage_keys` are objects to remove
    once the transaction commits (none for a soft delete)."""

    soft: bool
    storage_keys: list[str]


async def delete_audiobook(session: AsyncSession, book_id: uuid.UUID) -> Deletion:
    """Remove a book from the store.

    A book someone owns (an entitlement, even a revoked one) or ordered (orders keep pointing at their
    lines) is soft-deleted: unpublished and marked deleted, so it leaves the catalog, search, carts and
    checkout while its owners keep it, and its files, in their libraries. Any other book is deleted
    with its rows (cascades) and the caller removes the returned storage objects: audio, transcripts,
    cover images.
    """
    book = await get_audiobook(session, book_id, include_drafts=True)
    owned = await session.scalar(select(col(Entitlement.id)).where(col(Entitlement.audiobook_id) == book_id).limit(1))
    ordered = await session.scalar(select(col(OrderLine.id)).where(col(OrderLine.audiobook_id) == book_id).limit(1))
    if owned is not None or ordered is not None:
        book.deleted_at = book.updated_at = utcnow()
        book.published = False
        await session.flush()
        return Deletion(soft=True, storage_keys=[])
    audio = (
        await session.execute(select(col(AudioFile.storage_key)).where(col(AudioFile.audiobook_id) == book_id))
    ).scalars()
    keys = [
        *audio,
        *(storage_keys.transcript_key(book_id, fmt) for fmt in storage_keys.TRANSCRIPT_EXTENSIONS),
        *storage_keys.cover_keys(book.cover_key, list(book.cover_sizes)),
        *await previews.clip_keys(session, book_id),
    ]
    await session.delete(book)
    await session.flush()
    return Deletion(soft=False, storage_keys=keys)


async def visible_audiobook(
    session: AsyncSession, book_id: uuid.UUID, *, include_drafts: bool, viewer_id: uuid.UUID | None
) -> Audiobook:
    """`get_audiobook`, except that a deleted book stays visible to those entitled to it."""
    book = await session.get(Audiobook, book_id)
    if book is not None and book.deleted_at is not None and viewer_id is not None:
        entitled = await session.scalar(
            select(col(Entitlement.id)).where(
                col(Entitlement.audiobook_id) == book_id,
                col(Entitlement.user_id) == viewer_id,
                col(Entitlement.revoked_at).is_(None),
            )
        )
        if entitled is not None:
            return book
    return await get_audiobook(session, book_id, include_drafts=include_drafts)


MAX_TITLE_CURSOR = 500  # characters: longer than any title, so a title cursor is bounded input


def _sort_keys(sort: Sort, found: TextSearch | None) -> tuple[list[Key[Any]], bool]:
    """The keyset for a sort, ending with the id, and whether it runs descending. Items are rows (or
    `_Scored` books) read by attribute; under relevance the key is the score expression."""
    book_id: Key[Any] = id_key(col(Audiobook.id), lambda b: b.id)
    if sort is Sort.RELEVANCE:
        assert found is not None, "relevance needs a search (see effective_sort)"
        return [score_key(found.score(), lambda b: b.score), book_id], True
    if sort in (Sort.NEWEST, Sort.OLDEST):
        first: Key[Any] = time_key(col(Audiobook.created_at), lambda b: b.created_at)
    elif sort is Sort.TITLE:
        first = text_key(col(Audiobook.title), lambda b: b.title, max_chars=MAX_TITLE_CURSOR)
    else:
        first = int_key(col(Audiobook.price_cents), lambda b: b.price_cents, low=0)
    return [first, book_id], sort in (Sort.NEWEST, Sort.PRICE_HIGH)


def search_text(search: str | None) -> str | None:
    """The search to run (whitespace collapsed), or None for no search."""
    return normalized(search)


def check_search(search: str | None, flt: CatalogFilter | None = None) -> None:
    """Bound what reaches PostgreSQL: a search or filter longer than any title is bad input."""
    if search is not None and len(search) > MAX_SEARCH_CHARS:
        raise ServiceError(ErrorCode.TOO_LONG, f"Search is limited to {MAX_SEARCH_CHARS} characters.", "search")
    if flt is not None:
        for name in ("category", "author", "narrator", "language", "tag", "series"):
            value = getattr(flt, name)
            if value is not None and len(value) > MAX_FILTER_CHARS:
                raise ServiceError(
                    ErrorCode.TOO_LONG, f"Filters are limited to {MAX_FILTER_CHARS} characters.", f"filter.{name}"
                )


def search_conditions(search: str | None) -> list[Any]:
    """The text match for a short list such as the library (see `services.search`)."""
    check_search(search)
    found = search_text(search)
    return [] if found is None else [library_condition(found)]


def _text_search(search: str | None) -> TextSearch | None:
    found = search_text(search)
    return None if found is None else TextSearch.of(found)


def _filters(found: TextSearch | None, flt: CatalogFilter | None, include_drafts: bool) -> list[Any]:
    conditions: list[Any] = [] if found is None else [found.condition()]
    conditions.append(col(Audiobook.deleted_at).is_(None))  # deleted books stay only in their owners' libraries
    if not include_drafts:
        conditions.append(col(Audiobook.published).is_(True))
    if flt is None:
        return conditions
    if flt.category:
        conditions.append(
            col(Audiobook.id).in_(
                select(col(AudiobookCategory.audiobook_id))
                .join(Category, col(Category.id) == col(AudiobookCategory.category_id))
                .where(or_(col(Category.slug) == flt.category, col(Category.name) == flt.category))
            )
        )
    if flt.author:
        conditions.append(col(Audiobook.id).in_(credits.credited_book_ids(ContributorRole.AUTHOR, flt.author)))
    if flt.narrator:
        conditions.append(col(Audiobook.id).in_(credits.credited_book_ids(ContributorRole.NARRATOR, flt.narrator)))
    if flt.series:
        conditions.append(col(Audiobook.id).in_(credits.series_book_ids(flt.series)))
    if flt.tag:
        conditions.append(literal(flt.tag.lower()) == any_(col(Audiobook.tags)))
    if flt.language:
        conditions.append(col(Audiobook.language) == flt.language)
    return conditions


async def list_audiobooks(
    session: AsyncSession,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    flt: CatalogFilter | None = None,
    sort: Sort | None = None,
    include_drafts: bool = False,
) -> Page[Audiobook]:
    """ORM entities, ordered like `list_audiobook_rows` (relevance by default when searching)."""
    limit = page_size(first)
    check_search(search, flt)
    found = _text_search(search)
    sort = effective_sort(sort, search)
    conditions = _filters(found, flt, include_drafts)
    if found is None:
        keys, descending = _sort_keys(sort, None)
        statement = keyset_query(select(Audiobook).where(and_(True, *conditions)), keys, after=after, limit=limit,
                                 descending=descending)  # fmt: skip
        result = (await session.execute(statement)).all()
        total = await session.scalar(select(func.count()).select_from(Audiobook).where(and_(True, *conditions)))
        scored = [_Scored(r[0], None) for r in result[:limit]]
    else:
        await use_similarity_threshold(session)
        ranked = _Ranked.of(found, conditions, sort, paged=bool(after))
        keys = ranked.keys
        values = keyset_params(keys, after=after, limit=limit)
        result = (await session.execute(ranked.rows(Audiobook, ranked.top.c.score), values)).all()
        total = await session.scalar(select(ranked.total), values)
        scored = [_Scored(r[0], r.score) for r in result[:limit]]
    return Page(
        items=[s.book for s in scored],
        cursors=[keyset_cursor(keys, s) for s in scored],
        has_next_page=len(result) > limit,
        total_count=int(total or 0),
    )


@dataclass(frozen=True)
class _Ranked:
    """A search's page: every matching book's id, score and sort key, found, scored and filtered in one
    pass into a CTE that the page (the first rows after the cursor) and its total both read. The card
    columns are then read for the page's rows only."""

    top: Any  # subquery: the page's (id, score[, sort_key]), one row more than the limit (`keyset_params`)
    total: Any  # scalar subquery: how many books the search finds
    keys: list[Key[Any]]  # read from the page's rows, for their cursors
    order: list[Any]  # the page's order, over `top`

    @classmethod
    def of(cls, found: TextSearch, conditions: list[Any], sort: Sort, *, paged: bool) -> _Ranked:
        keys, descending = _sort_keys(sort, found)
        first, book_id = keys
        relevance = sort is Sort.RELEVANCE  # then the first key is the score itself: computed once
        columns: list[Any] = [col(Audiobook.id).label("id"), found.score().label("score")]
        if not relevance:
            columns.append(first.column.label("sort_key"))
        scored = select(*columns).where(and_(True, *conditions))
        matches = found.join(scored).cte("found")
        matches = matches.prefix_with("MATERIALIZED")
        on_matches = [
            dataclasses.replace(first, column=matches.c.score if relevance else matches.c.sort_key),
            dataclasses.replace(book_id, column=matches.c.id),
        ]
        top = keyset_statement(select(*matches.c), on_matches, paged=paged, descending=descending).subquery("top")
        ordered = [top.c.score if relevance else top.c.sort_key, top.c.id]
        return cls(
            top=top,
            total=select(func.count()).select_from(matches).scalar_subquery(),
            keys=keys,
            order=[c.desc() if descending else c.asc() for c in ordered],
        )

    def rows(self, *columns: Any) -> Select[Any]:
        """`columns` (of `Audiobook`) for the page's books, in the page's order."""
        return select(*columns).join(self.top, self.top.c.id == col(Audiobook.id)).order_by(*self.order)


# Columns a catalog card needs; `description` and `summary` only when asked, `search_vector` never.
CARD_COLUMNS: tuple[Any, ...] = (
    Audiobook.id, Audiobook.title, Audiobook.subtitle, Audiobook.authors, Audiobook.narrators, Audiobook.tags,
    Audiobook.language, Audiobook.price_cents, Audiobook.currency, Audiobook.cover_url, Audiobook.duration_seconds,
    Audiobook.published, Audiobook.transcript_status, Audiobook.created_at, Audiobook.updated_at,
    Audiobook.series_id, Audiobook.series_position, Audiobook.published_year, Audiobook.publisher, Audiobook.isbn,
    Audiobook.cover_key, Audiobook.cover_width, Audiobook.cover_height, Audiobook.cover_sizes,
)  # fmt: skip
TEXT_COLUMNS: tuple[Any, ...] = (Audiobook.description, Audiobook.summary)
FILE_COLUMNS: tuple[Any, ...] = (
    AudioFile.id, AudioFile.audiobook_id, AudioFile.position, AudioFile.file_name, AudioFile.content_type,
    AudioFile.size_bytes, AudioFile.duration_seconds, AudioFile.codec, AudioFile.created_at,
)  # fmt: skip


def asked_columns(
    with_text: bool, with_categories: bool, owned_by: uuid.UUID | BindParameter[uuid.UUID] | None
) -> list[Any]:
    """The columns a catalog page adds to its card columns when the selection asks for them: the long
    texts, the categories as JSON, and whether `owned_by` (a user's id, or a parameter for it) owns each book."""
    columns: list[Any] = []
    if with_text:
        columns.extend(TEXT_COLUMNS)
    if with_categories:
        columns.append(_categories_column().label("categories"))
    if owned_by is not None:
        owned = (
            select(col(Entitlement.id))
            .where(
                col(Entitlement.user_id) == owned_by,
                col(Entitlement.audiobook_id) == col(Audiobook.id),
                col(Entitlement.revoked_at).is_(None),
            )
            .exists()
        )
        columns.append(owned.label("owned"))
    return columns


def _categories_column() -> Any:
    """The book's categories as one JSON array of [id, name, slug], by name: no second query for them."""
    item = func.json_build_array(col(Category.id), col(Category.name), col(Category.slug))
    agg = func.coalesce(func.json_agg(aggregate_order_by(item, col(Category.name))), literal_column("'[]'::json"))
    return (
        select(type_coerce(agg, JSON))
        .select_from(AudiobookCategory)
        .join(Category, col(Category.id) == col(AudiobookCategory.category_id))
        .where(col(AudiobookCategory.audiobook_id) == col(Audiobook.id))
        .scalar_subquery()
    )


async def list_audiobook_rows(
    session: AsyncSession,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    flt: CatalogFilter | None = None,
    sort: Sort | None = None,
    include_drafts: bool = False,
    with_text: bool = False,
    with_categories: bool = False,
    owned_by: uuid.UUID | None = None,
) -> Page[Any]:
    """One statement for a page of plain rows: the columns asked for, `total`, and optionally `categories`
    (JSON) and `owned` (for `owned_by`). No ORM entities: the catalog page is read far more than written.
    With a search, also `score` (relevance, the default order); without one, no search SQL at all.
    """
    limit = page_size(first)
    check_search(search, flt)
    text = search_text(search)
    sort = effective_sort(sort, search)
    if text is None and flt is None:  # the store's most read page: a statement built once per shape
        keys, _ = _sort_keys(sort, None)
        statement = _plain_page(sort, include_drafts, with_text, with_categories, owned_by is not None, bool(after))
        params = keyset_params(keys, after=after, limit=limit)
        total = _plain_count(include_drafts)
    elif text is None:
        where = and_(True, *_filters(None, flt, include_drafts))
        total = select(func.count()).select_from(Audiobook).where(where).scalar_subquery()
        keys, descending = _sort_keys(sort, None)
        asked = asked_columns(with_text, with_categories, _owner(owned_by is not None))
        query = select(*CARD_COLUMNS, total.label("total"), *asked)
        statement = keyset_query(query.where(where), keys, after=after, limit=limit, descending=descending)
        params = {}
    else:
        await use_similarity_threshold(session)
        shape = (
            *search_shape(text),
            sort,
            include_drafts,
            with_text,
            with_categories,
            owned_by is not None,
            bool(after),
        )
        page = _SEARCH_PAGES.get(shape) if flt is None else None
        if page is None:  # built for this search; kept per shape (with no filter) and run for the next ones
            page = _SearchPage.of(TextSearch.of(text), flt, *shape[2:])
            if flt is None:
                _SEARCH_PAGES[shape] = page
        statement, keys, total = page.statement, page.keys, page.total
        params = search_params(text) | keyset_params(keys, after=after, limit=limit)
    if owned_by is not None:
        params["owned_by"] = owned_by
    rows = await _rows(session, statement, params)
    # an empty page (past the end, or first: 0) still reports the total
    count = int(rows[0].total) if rows else int(await session.scalar(select(total), params) or 0)
    items = rows[:limit]
    return Page(
        items=items,
        cursors=Cursors(keys, items),
        has_next_page=len(rows) > limit,
        total_count=count,
    )


@dataclass(frozen=True)
class _SearchPage:
    """A search page's statement, with the values it is run with left as parameters: the search's
    words (`search.params`), the cursor and limit (`keyset_params`) and `owned_by`."""

    statement: Select[Any]
    keys: list[Key[Any]]
    total: Any

    @classmethod
    def of(cls, found: TextSearch, flt: CatalogFilter | None, sort: Sort, include_drafts: bool, with_text: bool,
           with_categories: bool, owned: bool, paged: bool) -> _SearchPage:  # fmt: skip
        ranked = _Ranked.of(found, _filters(found, flt, include_drafts), sort, paged=paged)
        asked = asked_columns(with_text, with_categories, _owner(owned))
        statement = ranked.rows(*CARD_COLUMNS, ranked.total.label("total"), *asked, ranked.top.c.score)
        return cls(statement, ranked.keys, ranked.total)


# Search pages without a filter, by shape (`search.shape`, sort, drafts, asked columns, owned, paged): a
# few dozen at most. Building one costs more CPU than PostgreSQL spends running it.
_SEARCH_PAGES: dict[tuple[Any, ...], _SearchPage] = {}


@functools.lru_cache(maxsize=64)
def _plain_page(sort: Sort, include_drafts: bool, with_text: bool, with_categories: bool, owned: bool,
                paged: bool) -> Select[Any]:  # fmt: skip
    """The statement of a catalog page without search or filter, one per shape, run with `keyset_params`
    (and `owned_by`): building a statement and adapting its result to it cost more than running it."""
    where = and_(True, *_filters(None, None, include_drafts))
    keys, descending = _sort_keys(sort, None)
    total = _plain_count(include_drafts).label("total")
    query = select(*CARD_COLUMNS, total, *asked_columns(with_text, with_categories, _owner(owned))).where(where)
    return keyset_statement(query, keys, paged=paged, descending=descending)


def _owner(owned: bool) -> BindParameter[uuid.UUID] | None:
    """The viewer whose books are marked `owned`, as the parameter `owned_by`."""
    return bindparam("owned_by", type_=Uuid()) if owned else None


@functools.lru_cache(maxsize=2)
def _plain_count(include_drafts: bool) -> Any:
    """How many books the catalog shows (to customers, or with drafts to admins), as a scalar subquery."""
    where = and_(True, *_filters(None, None, include_drafts))
    return select(func.count()).select_from(Audiobook).where(where).scalar_subquery()


async def _rows(session: AsyncSession, statement: Select[Any], params: dict[str, Any] | None = None) -> list[Any]:
    """Plain rows through the session's connection: the ORM's result machinery (entity loading, identity
    map) has nothing to do for rows of columns, and skipping it is a tenth of a catalog page's CPU."""
    connection = await session.connection()
    return list((await connection.execute(statement, params)).all())


# One array parameter, not one per book: one statement object (and prepared plan) for any page.
_FILES_OF_BOOKS = (
    select(*FILE_COLUMNS)
    .where(col(AudioFile.audiobook_id) == any_(bindparam("book_ids", type_=ARRAY(Uuid()))))
    .order_by(col(AudioFile.audiobook_id), col(AudioFile.position))
)


async def file_rows_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """The files of many books as plain rows, in play order: one statement, no ORM entities."""
    out: dict[uuid.UUID, list[Any]] = {i: [] for i in book_ids}
    if not book_ids:
        return out
    for f in await _rows(session, _FILES_OF_BOOKS, {"book_ids": list(book_ids)}):
        out[f.audiobook_id].append(f)
    return out


@dataclass(frozen=True)
class _Scored:
    """An ORM book with its relevance score, read like a row by the sort keys."""

    book: Audiobook
    score: float | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.book, name)


async def files_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AudioFile]]:
    rows = await session.execute(
        select(AudioFile)
        .where(col(AudioFile.audiobook_id).in_(book_ids))
        .order_by(col(AudioFile.audiobook_id), col(AudioFile.position))
    )
    out: dict[uuid.UUID, list[AudioFile]] = {i: [] for i in book_ids}
    for f in rows.scalars():
        out[f.audiobook_id].append(f)
    return out


async def categories_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Category]]:
    rows = await session.execute(
        select(col(AudiobookCategory.audiobook_id), Category)
        .join(Category, col(Category.id) == col(AudiobookCategory.category_id))
        .where(col(AudiobookCategory.audiobook_id).in_(book_ids))
        .order_by(col(Category.name))
    )
    out: dict[uuid.UUID, list[Category]] = {i: [] for i in book_ids}
    for book_id, category in rows.all():
        out[book_id].append(category)
    return out


async def categories_with_counts(session: AsyncSession, *, include_drafts: bool) -> list[tuple[Category, int]]:
    count = func.count(col(Audiobook.id))
    query = (
        select(Category, count)
        .outerjoin(AudiobookCategory, col(AudiobookCategory.category_id) == col(Category.id))
        .outerjoin(
            Audiobook,
            and_(
                col(Audiobook.id) == col(AudiobookCategory.audiobook_id),
                col(Audiobook.deleted_at).is_(None),
                true() if include_drafts else col(Audiobook.published).is_(True),
            ),
        )
        .group_by(col(Category.id))
        .order_by(col(Category.name))
    )
    rows = [(c, int(n)) for c, n in (await session.execute(query)).all()]
    # A category whose books are all drafts would tell customers what is coming: list only used ones.
    return rows if include_drafts else [(c, n) for c, n in rows if n > 0]


async def catalog_version(session: AsyncSession) -> int:
    """The catalog's version: triggers bump it in the same transaction as any write to the catalog."""
    return int(await session.scalar(select(col(CatalogVersion.version)).where(col(CatalogVersion.id) == 1)) or 0)
