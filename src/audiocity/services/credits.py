"""Who is credited on a book, and which series it belongs to: rows of their own, found by name
regardless of case.

The book's `authors` / `narrators` arrays are a copy of its credits that this module keeps in sync,
so a catalog page still reads them from the book's own row in one statement; lookups ("all books
by X") go through the indexed `audiobook_contributors` table instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Audiobook, AudiobookContributor, Contributor, ContributorRole, Series


def name_key(name: str) -> str:
    """What makes two spellings the same person or series: case and surrounding blanks do not count."""
    return " ".join(name.split()).lower()


async def _contributor_ids(session: AsyncSession, names: Sequence[str]) -> dict[str, uuid.UUID]:
    """Ids for `names` by key, creating the missing people (concurrent creators meet on the unique key)."""
    keys = {name_key(n): n for n in reversed(names)}
    if not keys:
        return {}
    await session.execute(
        insert(Contributor)
        .values([{"id": uuid.uuid4(), "name": name, "name_key": key} for key, name in keys.items()])
        .on_conflict_do_nothing(index_elements=["name_key"])
    )
    rows = await session.execute(
        select(col(Contributor.name_key), col(Contributor.id)).where(col(Contributor.name_key).in_(list(keys)))
    )
    return {key: cid for key, cid in rows.all()}


async def set_credits(session: AsyncSession, book_id: uuid.UUID, role: ContributorRole, names: Sequence[str]) -> None:
    """Replace the book's credits of one role by `names` (already cleaned, in credit order)."""
    await session.execute(
        delete(AudiobookContributor).where(
            col(AudiobookContributor.audiobook_id) == book_id, col(AudiobookContributor.role) == role
        )
    )
    ids = await _contributor_ids(session, names)
    seen: set[uuid.UUID] = set()
    values: list[dict[str, Any]] = []
    for name in names:
        cid = ids[name_key(name)]
        if cid not in seen:
            seen.add(cid)
            values.append({"audiobook_id": book_id, "role": role, "position": len(values), "contributor_id": cid})
    if values:
        await session.execute(insert(AudiobookContributor).values(values))


def credited_book_ids(role: ContributorRole, name: str) -> Any:
    """Ids of the books crediting `name` (any case) in `role`: unique key, then the credits index."""
    return (
        select(col(AudiobookContributor.audiobook_id))
        .join(Contributor, col(Contributor.id) == col(AudiobookContributor.contributor_id))
        .where(col(Contributor.name_key) == name_key(name), col(AudiobookContributor.role) == role)
    )


async def series_id_for(session: AsyncSession, name: str) -> uuid.UUID:
    """The series called `name` (any case), created when there is none yet."""
    key = name_key(name)
    await session.execute(
        insert(Series)
        .values(id=uuid.uuid4(), name=" ".join(name.split()), name_key=key)
        .on_conflict_do_nothing(index_elements=["name_key"])
    )
    found = await session.scalar(select(col(Series.id)).where(col(Series.name_key) == key))
    assert found is not None
    return found


def series_book_ids(name: str) -> Any:
    """Ids of the books in the series called `name` (any case)."""
    return (
        select(col(Audiobook.id))
        .join(Series, col(Series.id) == col(Audiobook.series_id))
        .where(col(Series.name_key) == name_key(name))
    )


async def series_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Series]:
    if not ids:
        return {}
    rows = await session.execute(select(Series).where(col(Series.id).in_(list(ids))))
    return {s.id: s for s in rows.scalars()}


async def get_series(session: AsyncSession, series_id: uuid.UUID) -> Series | None:
    return await session.get(Series, series_id)


async def books_in_series(
    session: AsyncSession, series_ids: Sequence[uuid.UUID], *, include_drafts: bool
) -> dict[uuid.UUID, list[Audiobook]]:
    """The visible books of each series, by position then title: one statement for many series."""
    out: dict[uuid.UUID, list[Audiobook]] = {i: [] for i in series_ids}
    if not series_ids:
        return out
    query = select(Audiobook).where(col(Audiobook.series_id).in_(list(series_ids)), col(Audiobook.deleted_at).is_(None))
    if not include_drafts:
        query = query.where(col(Audiobook.published).is_(True))
    query = query.order_by(col(Audiobook.series_position).asc().nulls_last(), col(Audiobook.title), col(Audiobook.id))
    for book in (await session.execute(query)).scalars():
        assert book.series_id is not None
        out[book.series_id].append(book)
    return out
