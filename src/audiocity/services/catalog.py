"""Creating, changing and listing audiobooks."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    any_,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import (
    Audiobook,
    AudiobookCategory,
    AudioFile,
    CatalogVersion,
    Category,
    Entitlement,
    OrderLine,
    utcnow,
)
from audiocity.services import previews
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import Page, cursor_time, decode_cursor, encode_cursor, page_size

CURRENCY = re.compile(r"^[A-Z]{3}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_TRANSCRIPT_CHARS_INDEXED = 200_000
MAX_SEARCH_CHARS = 500
MAX_FILTER_CHARS = 200
MAX_DESCRIPTION_CHARS = 50_000
MAX_URL_CHARS = 2_000
MAX_LANGUAGE_CHARS = 16  # the column's width; BCP 47 tags in use are far shorter
MAX_NAMES = 50


class Sort(enum.StrEnum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    TITLE = "TITLE"
    PRICE_LOW = "PRICE_LOW"
    PRICE_HIGH = "PRICE_HIGH"


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


@dataclass
class CatalogFilter:
    category: str | None = None
    author: str | None = None
    narrator: str | None = None
    language: str | None = None
    tag: str | None = None
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


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "category"


async def _set_categories(session: AsyncSession, book_id: uuid.UUID, names: list[str]) -> None:
    await session.execute(delete(AudiobookCategory).where(AudiobookCategory.audiobook_id == book_id))  # type: ignore[arg-type]
    by_slug = {slugify(name): name for name in reversed(_clean_names(names, "categories"))}  # "Sci Fi" = "sci-fi"
    for slug, name in reversed(by_slug.items()):
        category = (await session.execute(select(Category).where(Category.slug == slug))).scalar_one_or_none()
        if category is None:
            category = Category(name=name, slug=slug)
            session.add(category)
            await session.flush()
        session.add(AudiobookCategory(audiobook_id=book_id, category_id=category.id))
    await session.flush()


async def refresh_search_vector(session: AsyncSession, book_id: uuid.UUID) -> None:
    """Weighted full-text document: title, then people, then summary/tags/description, then transcript."""
    await session.execute(
        text(
            """
            UPDATE audiobooks b SET search_vector =
                setweight(to_tsvector('english', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
             || setweight(to_tsvector('simple', array_to_string(b.authors, ' ') || ' '
                                              || array_to_string(b.narrators, ' ')), 'B')
             || setweight(to_tsvector('english', coalesce(b.summary, '') || ' '
                                              || array_to_string(b.tags, ' ') || ' ' || b.description), 'C')
             || setweight(to_tsvector('english', coalesce(
                    (SELECT left(t.text, :limit) FROM transcripts t WHERE t.audiobook_id = b.id), '')), 'D')
            WHERE b.id = :id
            """
        ),
        {"id": book_id, "limit": MAX_TRANSCRIPT_CHARS_INDEXED},
    )


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
    session.add(book)
    await session.flush()
    await _set_categories(session, book.id, data.categories or [])
    await refresh_search_vector(session, book.id)
    return book


async def get_audiobook(session: AsyncSession, book_id: uuid.UUID, *, include_drafts: bool) -> Audiobook:
    book = await session.get(Audiobook, book_id)
    if book is None or (not book.published and not include_drafts):
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
    if data.title is not None:
        book.title = data.title.strip()
    if data.subtitle is not None:
        book.subtitle = data.subtitle.strip() or None
    if data.description is not None:
        book.description = data.description
    if data.authors is not None:
        book.authors = _clean_names(data.authors, "authors")
    if data.narrators is not None:
        book.narrators = _clean_names(data.narrators, "narrators")
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
    return book


async def publish_audiobook(session: AsyncSession, book_id: uuid.UUID, published: bool) -> Audiobook:
    book = await get_audiobook(session, book_id, include_drafts=True)
    if published:
        count = await session.scalar(
            select(func.count()).select_from(AudioFile).where(AudioFile.audiobook_id == book_id)  # type: ignore[arg-type]
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


async def delete_audiobook(session: AsyncSession, book_id: uuid.UUID) -> list[str]:
    """Delete the book and return the storage keys of its files (the caller removes the objects).

    A book that has been sold stays: orders keep pointing at it (unpublish it instead).
    """
    book = await get_audiobook(session, book_id, include_drafts=True)
    sold = await session.scalar(select(OrderLine.id).where(OrderLine.audiobook_id == book_id).limit(1))  # type: ignore[arg-type]
    if sold is not None:
        raise ServiceError(
            ErrorCode.HAS_ORDERS, "This audiobook has been ordered and cannot be deleted; unpublish it instead.", "id"
        )
    keys = list(
        (
            await session.execute(
                select(AudioFile.storage_key).where(AudioFile.audiobook_id == book_id)  # type: ignore[arg-type]
            )
        ).scalars()
    )
    keys += await previews.clip_keys(session, book_id)
    await session.delete(book)
    await session.flush()
    return keys


def _sort_columns(sort: Sort) -> tuple[ColumnElement[Any], bool]:
    column: Any = {
        Sort.NEWEST: Audiobook.created_at,
        Sort.OLDEST: Audiobook.created_at,
        Sort.TITLE: Audiobook.title,
        Sort.PRICE_LOW: Audiobook.price_cents,
        Sort.PRICE_HIGH: Audiobook.price_cents,
    }[sort]
    descending = sort in (Sort.NEWEST, Sort.PRICE_HIGH)
    return column, descending


def _cursor_value(book: Any, sort: Sort) -> Any:
    if sort in (Sort.NEWEST, Sort.OLDEST):
        return book.created_at.isoformat()
    if sort is Sort.TITLE:
        return book.title
    return book.price_cents


def check_search(search: str | None, flt: CatalogFilter | None = None) -> None:
    """Bound what reaches PostgreSQL: a search or filter longer than any title is bad input."""
    if search is not None and len(search) > MAX_SEARCH_CHARS:
        raise ServiceError(ErrorCode.TOO_LONG, f"Search is limited to {MAX_SEARCH_CHARS} characters.", "search")
    if flt is not None:
        for name in ("category", "author", "narrator", "language", "tag"):
            value = getattr(flt, name)
            if value is not None and len(value) > MAX_FILTER_CHARS:
                raise ServiceError(
                    ErrorCode.TOO_LONG, f"Filters are limited to {MAX_FILTER_CHARS} characters.", f"filter.{name}"
                )


def search_conditions(search: str | None) -> list[Any]:
    """The full-text match shared by the catalog and the library: English stems, or exact words (names)."""
    check_search(search)
    if not search or not search.strip():
        return []
    vector: Any = Audiobook.search_vector
    return [
        or_(
            vector.op("@@")(func.websearch_to_tsquery("english", search.strip())),
            vector.op("@@")(func.websearch_to_tsquery("simple", search.strip())),
        )
    ]


def _filters(search: str | None, flt: CatalogFilter | None, include_drafts: bool) -> list[Any]:
    conditions: list[Any] = search_conditions(search)
    if not include_drafts:
        conditions.append(Audiobook.published.is_(True))  # type: ignore[attr-defined]
    if flt is None:
        return conditions
    if flt.category:
        conditions.append(
            Audiobook.id.in_(  # type: ignore[attr-defined]
                select(AudiobookCategory.audiobook_id)
                .join(Category, Category.id == AudiobookCategory.category_id)  # type: ignore[arg-type]
                .where(or_(Category.slug == flt.category, Category.name == flt.category))
            )
        )
    if flt.author:
        conditions.append(literal(flt.author) == any_(Audiobook.authors))
    if flt.narrator:
        conditions.append(literal(flt.narrator) == any_(Audiobook.narrators))
    if flt.tag:
        conditions.append(literal(flt.tag.lower()) == any_(Audiobook.tags))
    if flt.language:
        conditions.append(Audiobook.language == flt.language)
    return conditions


def _keyset(query: Any, sort: Sort, after: str | None, limit: int) -> Any:
    """Order by (sort column, id) and start after the cursor: keyset pagination, never OFFSET."""
    column, descending = _sort_columns(sort)
    if after:
        value, last_id = _decode_after(after, sort)
        key = tuple_(column, Audiobook.id)
        query = query.where(key < tuple_(value, last_id) if descending else key > tuple_(value, last_id))
    order = [column.desc(), Audiobook.id.desc()] if descending else [column.asc(), Audiobook.id.asc()]  # type: ignore[attr-defined]
    return query.order_by(*order).limit(limit + 1)


async def list_audiobooks(
    session: AsyncSession,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    flt: CatalogFilter | None = None,
    sort: Sort = Sort.NEWEST,
    include_drafts: bool = False,
) -> Page[Audiobook]:
    limit = page_size(first)
    check_search(search, flt)
    conditions = _filters(search, flt, include_drafts)
    query = _keyset(select(Audiobook).where(and_(True, *conditions)), sort, after, limit)
    rows = list((await session.execute(query)).scalars())
    total = await session.scalar(select(func.count()).select_from(Audiobook).where(and_(True, *conditions)))
    items = rows[:limit]
    return Page(
        items=items,
        cursors=[encode_cursor([_cursor_value(b, sort), str(b.id)]) for b in items],
        has_next_page=len(rows) > limit,
        total_count=int(total or 0),
    )


# Columns a catalog card needs; `description` and `summary` only when asked, `search_vector` never.
CARD_COLUMNS: tuple[Any, ...] = (
    Audiobook.id, Audiobook.title, Audiobook.subtitle, Audiobook.authors, Audiobook.narrators, Audiobook.tags,
    Audiobook.language, Audiobook.price_cents, Audiobook.currency, Audiobook.cover_url, Audiobook.duration_seconds,
    Audiobook.published, Audiobook.transcript_status, Audiobook.created_at, Audiobook.updated_at,
)  # fmt: skip
TEXT_COLUMNS: tuple[Any, ...] = (Audiobook.description, Audiobook.summary)
FILE_COLUMNS: tuple[Any, ...] = (
    AudioFile.id, AudioFile.audiobook_id, AudioFile.position, AudioFile.file_name, AudioFile.content_type,
    AudioFile.size_bytes, AudioFile.duration_seconds, AudioFile.codec, AudioFile.created_at,
)  # fmt: skip


def _categories_column() -> Any:
    """The book's categories as one JSON array of [id, name, slug], by name: no second query for them."""
    item = func.json_build_array(Category.id, Category.name, Category.slug)
    agg = func.coalesce(func.json_agg(aggregate_order_by(item, Category.name)), literal_column("'[]'::json"))
    return (
        select(type_coerce(agg, JSON))
        .select_from(AudiobookCategory)
        .join(Category, Category.id == AudiobookCategory.category_id)  # type: ignore[arg-type]
        .where(AudiobookCategory.audiobook_id == Audiobook.id)  # type: ignore[arg-type]
        .scalar_subquery()
    )


async def list_audiobook_rows(
    session: AsyncSession,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    flt: CatalogFilter | None = None,
    sort: Sort = Sort.NEWEST,
    include_drafts: bool = False,
    with_text: bool = False,
    with_categories: bool = False,
    owned_by: uuid.UUID | None = None,
) -> Page[Any]:
    """One statement for a page of plain rows: the columns asked for, `total`, and optionally `categories`
    (JSON) and `owned` (for `owned_by`). No ORM entities: the catalog page is read far more than written.
    """
    limit = page_size(first)
    check_search(search, flt)
    conditions = _filters(search, flt, include_drafts)
    where = and_(True, *conditions)
    total = select(func.count()).select_from(Audiobook).where(where).scalar_subquery()
    columns: list[Any] = [*CARD_COLUMNS, total.label("total")]
    if with_text:
        columns.extend(TEXT_COLUMNS)
    if with_categories:
        columns.append(_categories_column().label("categories"))
    if owned_by is not None:
        owned = (
            select(Entitlement.id)
            .where(
                Entitlement.user_id == owned_by,
                Entitlement.audiobook_id == Audiobook.id,
                Entitlement.revoked_at.is_(None),  # type: ignore[union-attr]
            )
            .exists()
        )
        columns.append(owned.label("owned"))
    rows = list((await session.execute(_keyset(select(*columns).where(where), sort, after, limit))).all())
    if rows:
        count = int(rows[0].total)
    else:  # an empty page (past the end, or first: 0) still reports the total
        count = int(await session.scalar(select(func.count()).select_from(Audiobook).where(where)) or 0)
    items = rows[:limit]
    return Page(
        items=items,
        cursors=[encode_cursor([_cursor_value(b, sort), str(b.id)]) for b in items],
        has_next_page=len(rows) > limit,
        total_count=count,
    )


async def file_rows_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """The files of many books as plain rows, in play order: one statement, no ORM entities."""
    out: dict[uuid.UUID, list[Any]] = {i: [] for i in book_ids}
    if not book_ids:
        return out
    rows = await session.execute(
        select(*FILE_COLUMNS)
        .where(AudioFile.audiobook_id.in_(book_ids))  # type: ignore[attr-defined]
        .order_by(AudioFile.audiobook_id, AudioFile.position)  # type: ignore[arg-type]
    )
    for f in rows.all():
        out[f.audiobook_id].append(f)
    return out


def _decode_after(after: str, sort: Sort) -> tuple[Any, uuid.UUID]:
    values = decode_cursor(after)
    try:
        raw, last_id = values
        value: Any = cursor_time(raw) if sort in (Sort.NEWEST, Sort.OLDEST) else raw
        # the value is compared with the sort column in SQL, so it must have that column's type and range
        if sort is Sort.TITLE and not (isinstance(value, str) and len(value) <= 500):
            raise TypeError("a title cursor holds a title")
        if sort in (Sort.PRICE_LOW, Sort.PRICE_HIGH) and not (type(value) is int and 0 <= value < 2**31):
            raise TypeError("a price cursor holds a price")
        return value, uuid.UUID(last_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


async def files_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AudioFile]]:
    rows = await session.execute(
        select(AudioFile)
        .where(AudioFile.audiobook_id.in_(book_ids))  # type: ignore[attr-defined]
        .order_by(AudioFile.audiobook_id, AudioFile.position)  # type: ignore[arg-type]
    )
    out: dict[uuid.UUID, list[AudioFile]] = {i: [] for i in book_ids}
    for f in rows.scalars():
        out[f.audiobook_id].append(f)
    return out


async def categories_for_books(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Category]]:
    rows = await session.execute(
        select(AudiobookCategory.audiobook_id, Category)
        .join(Category, Category.id == AudiobookCategory.category_id)  # type: ignore[arg-type]
        .where(AudiobookCategory.audiobook_id.in_(book_ids))  # type: ignore[attr-defined]
        .order_by(Category.name)
    )
    out: dict[uuid.UUID, list[Category]] = {i: [] for i in book_ids}
    for book_id, category in rows.all():
        out[book_id].append(category)
    return out


async def categories_with_counts(session: AsyncSession, *, include_drafts: bool) -> list[tuple[Category, int]]:
    count = func.count(Audiobook.id)  # type: ignore[arg-type]
    query = (
        select(Category, count)
        .outerjoin(AudiobookCategory, AudiobookCategory.category_id == Category.id)  # type: ignore[arg-type]
        .outerjoin(
            Audiobook,
            and_(
                Audiobook.id == AudiobookCategory.audiobook_id,  # type: ignore[arg-type]
                True if include_drafts else Audiobook.published.is_(True),  # type: ignore[attr-defined]
            ),
        )
        .group_by(Category.id)  # type: ignore[arg-type]
        .order_by(Category.name)
    )
    rows = [(c, int(n)) for c, n in (await session.execute(query)).all()]
    # A category whose books are all drafts would tell customers what is coming: list only used ones.
    return rows if include_drafts else [(c, n) for c, n in rows if n > 0]


async def catalog_version(session: AsyncSession) -> int:
    """The catalog's version: triggers bump it in the same transaction as any write to the catalog."""
    return int(await session.scalar(select(CatalogVersion.version).where(CatalogVersion.id == 1)) or 0)
