"""Who owns what. Granted when an order is paid (or by an admin), revoked by refunds."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import Entitlement, utcnow


async def grant(
    session: AsyncSession, user_id: uuid.UUID, audiobook_ids: list[uuid.UUID], order_id: uuid.UUID | None
) -> None:
    """Grant (or re-grant after a refund) ownership; idempotent per user and book, one statement."""
    if not audiobook_ids:
        return
    now = utcnow()
    stmt = insert(Entitlement).values(
        [
            {"id": uuid.uuid4(), "user_id": user_id, "audiobook_id": book_id, "order_id": order_id, "granted_at": now}
            for book_id in dict.fromkeys(audiobook_ids)
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            constraint="uq_entitlements",
            set_={"revoked_at": None, "order_id": order_id, "granted_at": now},
            where=col(Entitlement.revoked_at).is_not(None),
        )
    )


async def revoke_for_order(session: AsyncSession, order_id: uuid.UUID) -> list[uuid.UUID]:
    """Revoke what an order granted; returns the affected audiobook ids."""
    result = await session.execute(
        update(Entitlement)
        .where(col(Entitlement.order_id) == order_id, col(Entitlement.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .returning(col(Entitlement.audiobook_id))
    )
    return list(result.scalars())


async def is_entitled(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(col(Entitlement.id)).where(
            col(Entitlement.user_id) == user_id,
            col(Entitlement.audiobook_id) == audiobook_id,
            col(Entitlement.revoked_at).is_(None),
        )
    )
    return found is not None


async def owned_book_ids(session: AsyncSession, user_id: uuid.UUID, book_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(Entitlement.audiobook_id)).where(
            col(Entitlement.user_id) == user_id,
            col(Entitlement.audiobook_id).in_(book_ids),
            col(Entitlement.revoked_at).is_(None),
        )
    )
    return set(rows.scalars())
