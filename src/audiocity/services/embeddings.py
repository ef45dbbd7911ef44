"""Which vectors a book needs, and storing them: the write side of meaning search.

A book has one BOOK vector (title, summary and description together) and one PASSAGE vector per
transcript passage, per embedding model. Each row keeps the SHA-1 of the text it was computed from, so
a rerun (a retried job, or a re-stitch that changed only some passages) embeds only what is new or
changed: `pending_items` lists exactly those, and `save_vectors` upserts them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.models import Audiobook, Embedding, EmbeddingKind, TranscriptPassage
from audiocity.services import outbox

BOOK_TEXT_CHARS = 2_000  # the model reads ~256 word pieces anyway; more only costs tokens


@dataclass(frozen=True)
class Item:
    """One text to embed: `content` is what the model reads, `shown` what a match displays."""

    kind: EmbeddingKind
    position: int
    content: str
    shown: str
    start_seconds: float | None = None
    end_seconds: float | None = None

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.content.encode()).hexdigest()


async def queue_refresh(session: AsyncSession, book_id: uuid.UUID) -> None:
    """Re-embed what an edit changed (the book's title or description), after this transaction commits;
    the worker embeds only texts whose vectors are missing or stale, so this is cheap when nothing is."""
    await outbox.add(session, tasks.REFRESH_EMBEDDINGS, str(book_id))


async def vectors_available(session: AsyncSession) -> bool:
    """Whether this database has the embeddings table (it exists only where pgvector is installed)."""
    return bool(await session.scalar(text("SELECT to_regclass('embeddings') IS NOT NULL")))


def book_item(book: Audiobook) -> Item | None:
    """Title, summary and description in one text; nothing to embed for a book with neither."""
    summary = (book.summary or "").strip()
    description = " ".join(book.description.split())
    if not summary and not description:
        return None
    content = ". ".join(part for part in (book.title.strip(), summary, description) if part)[:BOOK_TEXT_CHARS]
    return Item(EmbeddingKind.BOOK, 0, content, summary or description[:BOOK_TEXT_CHARS])


async def wanted_items(session: AsyncSession, book_id: uuid.UUID) -> list[Item]:
    """Everything the book should have a vector of, now: its BOOK item and its passages in order."""
    book = await session.get(Audiobook, book_id)
    if book is None:
        return []
    items = [item] if (item := book_item(book)) is not None else []
    rows = await session.execute(
        select(TranscriptPassage)
        .where(col(TranscriptPassage.audiobook_id) == book_id)
        .order_by(col(TranscriptPassage.position))
    )
    items += [
        Item(EmbeddingKind.PASSAGE, p.position, p.text, p.text, p.start_seconds, p.end_seconds)
        for p in rows.scalars()
        if p.text.strip()
    ]
    return items


async def pending_items(session: AsyncSession, book_id: uuid.UUID, provider: str, model: str) -> tuple[list[Item], int]:
    """The items still to embed with this model, and how many the book has in all.

    Rows of this model that no longer match anything (a passage that disappeared at a re-stitch) are
    deleted here; rows whose text changed are left for `save_vectors` to overwrite.
    """
    wanted = await wanted_items(session, book_id)
    stored = {
        (kind, position): sha1
        for kind, position, sha1 in (
            await session.execute(
                select(col(Embedding.kind), col(Embedding.position), col(Embedding.content_sha1)).where(
                    col(Embedding.audiobook_id) == book_id,
                    col(Embedding.provider) == provider,
                    col(Embedding.model) == model,
                )
            )
        ).all()
    }
    keys = {(str(item.kind), item.position) for item in wanted}
    gone = [key for key in stored if key not in keys]
    for kind, position in gone:
        await session.execute(
            delete(Embedding).where(
                col(Embedding.audiobook_id) == book_id,
                col(Embedding.provider) == provider,
                col(Embedding.model) == model,
                col(Embedding.kind) == kind,
                col(Embedding.position) == position,
            )
        )
    pending = [item for item in wanted if stored.get((str(item.kind), item.position)) != item.sha1]
    return pending, len(wanted)


async def save_vectors(
    session: AsyncSession,
    book_id: uuid.UUID,
    provider: str,
    model: str,
    items: Sequence[Item],
    vectors: Sequence[Sequence[float]],
) -> None:
    """Insert or overwrite the vectors of `items` (same order) for this model."""
    if len(items) != len(vectors):
        raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
    if not items:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "audiobook_id": book_id,
            "kind": str(item.kind),
            "position": item.position,
            "start_seconds": item.start_seconds,
            "end_seconds": item.end_seconds,
            "text": item.shown,
            "content_sha1": item.sha1,
            "provider": provider,
            "model": model,
            "embedding": list(vector),
        }
        for item, vector in zip(items, vectors, strict=True)
    ]
    statement = insert(Embedding).values(rows)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_embeddings_item",
            set_={
                "start_seconds": excluded.start_seconds,
                "end_seconds": excluded.end_seconds,
                "text": excluded.text,
                "content_sha1": excluded.content_sha1,
                "embedding": excluded.embedding,
            },
        )
    )


async def drop_other_models(session: AsyncSession, book_id: uuid.UUID, provider: str, model: str) -> int:
    """Delete the book's vectors of any other model (after a switch of provider): they can never be compared."""
    result = await session.execute(
        delete(Embedding).where(
            col(Embedding.audiobook_id) == book_id,
            ~and_(col(Embedding.provider) == provider, col(Embedding.model) == model),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_vectors(session: AsyncSession, book_id: uuid.UUID, provider: str, model: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Embedding)
        .where(
            col(Embedding.audiobook_id) == book_id, col(Embedding.provider) == provider, col(Embedding.model) == model
        )
    )
    return int(count or 0)
