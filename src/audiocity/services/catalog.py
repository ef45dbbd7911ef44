"""Creating, changing and listing audiobooks."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, any_, delete, func, literal, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import (
    Audiobook,
    AudiobookCategory,
    AudioFile,
    Category,
    utcnow,
)
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import Key, Page, as_int, as_str, id_key, keyset_page, time_key

CURRENCY = re.compile(r"^[A-Z]{3}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_TRANSCRIPT_CHARS_INDEXED = 200_000


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
    if data.language is not None and not LANGUAGE.match(data.language):
        raise ServiceError(ErrorCode.INVALID, "Language must be a BCP 47 tag like en or en-GB.", "language")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "category"


async def _set_categories(session: AsyncSession, book_id: uuid.UUID, names: list[str]) -> None:
    await session.execute(delete(AudiobookCategory).where(col(AudiobookCategory.audiobook_id) == book_id))
    for name in _clean_names(names, "categories"):
        slug = slugify(name)
        category = (await session.execute(select(Category).where(col(Category.slug) == slug))).scalar_one_or_none()
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
            select(func.count()).select_from(AudioFile).where(col(AudioFile.audiobook_id) == book_id)
        )
        if not count:
            raise ServiceError(
                ErrorCode.NO_AUDIO_FILES, "Upload at least one audio file before publishing.", "published"
            )
    book.published = published
    book.updated_at = utcnow()
    await session.flush()
    return book


async def delete_audiobook(session: AsyncSession, book_id: uuid.UUID) -> list[str]:
    """Delete the book and return the storage keys of its files (the caller removes the objects)."""
    book = await get_audiobook(session, book_id, include_drafts=True)
    keys = list(
        (
            await session.execute(select(col(AudioFile.storage_key)).where(col(AudioFile.audiobook_id) == book_id))
        ).scalars()
    )
    await session.delete(book)
    await session.flush()
    return keys


def _sort_key(sort: Sort) -> tuple[Key[Audiobook], bool]:
    """The keyset key a sort orders by, and whether it runs descending."""
    key: Key[Audiobook]
    if sort in (Sort.NEWEST, Sort.OLDEST):
        key = time_key(col(Audiobook.created_at), lambda b: b.created_at)
    elif sort is Sort.TITLE:
        key = Key(col(Audiobook.title), lambda b: b.title, as_str)
    else:
        key = Key(col(Audiobook.price_cents), lambda b: b.price_cents, as_int)
    return key, sort in (Sort.NEWEST, Sort.PRICE_HIGH)


def search_conditions(search: str | None) -> list[Any]:
    """The full-text match shared by the catalog and the library: English stems, or exact words (names)."""
    if not search or not search.strip():
        return []
    vector: Any = col(Audiobook.search_vector)
    return [
        or_(
            vector.op("@@")(func.websearch_to_tsquery("english", search.strip())),
            vector.op("@@")(func.websearch_to_tsquery("simple", search.strip())),
        )
    ]


def _filters(search: str | None, flt: CatalogFilter | None, include_drafts: bool) -> list[Any]:
    conditions: list[Any] = search_conditions(search)
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
        conditions.append(literal(flt.author) == any_(col(Audiobook.authors)))
    if flt.narrator:
        conditions.append(literal(flt.narrator) == any_(col(Audiobook.narrators)))
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
    sort: Sort = Sort.NEWEST,
    include_drafts: bool = False,
) -> Page[Audiobook]:
    conditions = _filters(search, flt, include_drafts)
    sort_key, descending = _sort_key(sort)
    return await keyset_page(
        session,
        select(Audiobook).where(and_(True, *conditions)),
        keys=[sort_key, id_key(col(Audiobook.id), lambda b: b.id)],
        count=select(func.count()).select_from(Audiobook).where(and_(True, *conditions)),
        first=first,
        after=after,
        descending=descending,
    )


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
                true() if include_drafts else col(Audiobook.published).is_(True),
            ),
        )
        .group_by(col(Category.id))
        .order_by(col(Category.name))
    )
    return [(c, int(n)) for c, n in (await session.execute(query)).all()]
