"""What a user owns: the library listing (keyset-paginated, progress joined in) and admin grants."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Audiobook, Entitlement, ListeningProgress, User
from audiocity.services import entitlements
from audiocity.services.catalog import search_conditions
from audiocity.services.errors import NotFound
from audiocity.services.pagination import Key, Page, id_key, keyset_page, time_key

# Books never listened to sort after every listened one in "continue listening" order.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class LibraryOrder(enum.StrEnum):
    RECENTLY_PURCHASED = "RECENTLY_PURCHASED"
    RECENTLY_LISTENED = "RECENTLY_LISTENED"


@dataclass(frozen=True)
class LibraryEntry:
    audiobook: Audiobook
    purchased_at: datetime
    listened: ListeningProgress | None = None


def _active(user_id: uuid.UUID) -> list[Any]:
    return [col(Entitlement.user_id) == user_id, col(Entitlement.revoked_at).is_(None)]


async def list_library(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    order: LibraryOrder = LibraryOrder.RECENTLY_PURCHASED,
) -> Page[LibraryEntry]:
    """Owned books (bought or granted), keyset-paginated, with the viewer's progress joined in.

    RECENTLY_LISTENED puts the books listened to most recently first ("continue listening"), then
    the never-listened ones by purchase date.
    """
    conditions = [*_active(user_id), *search_conditions(search)]
    keys: list[Key[LibraryEntry]] = [
        time_key(col(Entitlement.granted_at), lambda e: e.purchased_at),
        id_key(col(Audiobook.id), lambda e: e.audiobook.id),
    ]
    if order is LibraryOrder.RECENTLY_LISTENED:
        listened = func.coalesce(col(ListeningProgress.updated_at), literal(_NEVER, DateTime(timezone=True)))
        keys.insert(0, time_key(listened, lambda e: e.listened.updated_at if e.listened else _NEVER))
    query = (
        select(Audiobook, col(Entitlement.granted_at), ListeningProgress)
        .join(Entitlement, col(Entitlement.audiobook_id) == col(Audiobook.id))
        .outerjoin(
            ListeningProgress,
            and_(col(ListeningProgress.user_id) == user_id, col(ListeningProgress.audiobook_id) == col(Audiobook.id)),
        )
        .where(*conditions)
    )
    count = (
        select(func.count())
        .select_from(Entitlement)
        .join(Audiobook, col(Audiobook.id) == col(Entitlement.audiobook_id))
        .where(*conditions)
    )
    return await keyset_page(
        session,
        query,
        keys=keys,
        count=count,
        first=first,
        after=after,
        item=lambda row: LibraryEntry(audiobook=row[0], purchased_at=row[1], listened=row[2]),
    )


async def grant_audiobook(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Audiobook:
    """An admin gift: ownership without an order (idempotent; re-grants after a refund)."""
    if await session.get(User, user_id) is None:
        raise NotFound("User", "userId")
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    await entitlements.grant(session, user_id, [audiobook_id], None)
    return book
