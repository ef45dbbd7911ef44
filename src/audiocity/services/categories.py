"""Categories managed by admins: create, rename (the slug follows the name), delete.

Names are unique regardless of case and slugs are unique, so `filter: {category: ...}` and the
category lists stay unambiguous; a clash is a `DUPLICATE` the admin can act on.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Category
from audiocity.services.catalog import get_category, slugify
from audiocity.services.errors import ErrorCode, ServiceError

MAX_NAME_CHARS = 200


def _clean(name: str, field: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ServiceError(ErrorCode.INVALID, "A category needs a name.", field)
    if len(cleaned) > MAX_NAME_CHARS:
        raise ServiceError(ErrorCode.TOO_LONG, f"Category names are limited to {MAX_NAME_CHARS} characters.", field)
    return cleaned


async def _check_free(session: AsyncSession, name: str, slug: str, field: str, other_than: uuid.UUID | None) -> None:
    query = select(col(Category.name)).where(
        or_(func.lower(col(Category.name)) == name.lower(), col(Category.slug) == slug)
    )
    if other_than is not None:
        query = query.where(col(Category.id) != other_than)
    clash = await session.scalar(query.limit(1))
    if clash is not None:
        raise ServiceError(ErrorCode.DUPLICATE, f"The category {clash!r} already has this name or slug.", field)


async def create_category(session: AsyncSession, name: str, slug: str | None = None) -> Category:
    cleaned = _clean(name, "name")
    wanted = slugify(slug if slug and slug.strip() else cleaned)
    await _check_free(session, cleaned, wanted, "name", None)
    category = Category(name=cleaned, slug=wanted)
    session.add(category)
    await session.flush()
    return category


async def rename_category(session: AsyncSession, category_id: uuid.UUID, name: str) -> Category:
    category = await get_category(session, category_id)
    cleaned = _clean(name, "name")
    slug = slugify(cleaned)
    await _check_free(session, cleaned, slug, "name", category.id)
    category.name, category.slug = cleaned, slug
    await session.flush()
    return category


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    """The books stay; only their shelving in this category goes (the join rows cascade)."""
    await session.delete(await get_category(session, category_id))
    await session.flush()
