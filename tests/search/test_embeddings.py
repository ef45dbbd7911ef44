"""Which vectors a book still needs: only new or changed texts, per model; stale ones are removed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.ai.base import Segment
from audiocity.models import Embedding
from audiocity.services import embeddings, passages
from tests.factories import make_book

pytestmark = pytest.mark.usefixtures("requires_pgvector")  # meaning search needs pgvector

LONG = " It went on for a while, with more words than a passage holds, so that this sentence ends one." * 4


def segments(*texts: str) -> list[Segment]:
    return [Segment(float(i * 10), float(i * 10 + 9), text + LONG) for i, text in enumerate(texts)]


def unit(n: int) -> list[float]:
    return [1.0 if i == n else 0.0 for i in range(384)]


async def store(session: AsyncSession, book_id: object, provider: str, model: str) -> list[embeddings.Item]:
    pending, _total = await embeddings.pending_items(session, book_id, provider, model)  # type: ignore[arg-type]
    vectors = [unit(i) for i in range(len(pending))]
    await embeddings.save_vectors(session, book_id, provider, model, pending, vectors)  # type: ignore[arg-type]
    return pending


async def test_only_new_or_changed_texts_are_pending(session: AsyncSession) -> None:
    book = await make_book(session, title="The Lighthouse")
    book.summary = "A keeper alone on a rock."
    await passages.save_passages(session, book.id, segments("First.", "Second.", "Third."))
    first = await store(session, book.id, "local", "m1")
    assert [(i.kind, i.position) for i in first] == [("book", 0), ("passage", 0), ("passage", 1), ("passage", 2)]
    assert first[2].start_seconds == 10.0 and first[2].shown.startswith("Second.")
    assert await embeddings.pending_items(session, book.id, "local", "m1") == ([], 4)

    # a re-stitch changed the middle passage and dropped the last one
    await passages.save_passages(session, book.id, segments("First.", "Second, corrected."))
    pending, total = await embeddings.pending_items(session, book.id, "local", "m1")
    assert total == 3 and [(i.kind, i.position) for i in pending] == [("passage", 1)]
    await embeddings.save_vectors(session, book.id, "local", "m1", pending, [unit(9)])
    rows = (await session.execute(select(Embedding).where(Embedding.audiobook_id == book.id))).scalars().all()  # type: ignore[arg-type]
    assert sorted((r.kind, r.position) for r in rows) == [("book", 0), ("passage", 0), ("passage", 1)]
    assert next(r for r in rows if r.position == 1 and r.kind == "passage").text.startswith("Second, corrected.")

    # another model needs everything; once it has it, the first model's vectors can go
    assert len((await embeddings.pending_items(session, book.id, "openai", "m2"))[0]) == 3
    await store(session, book.id, "openai", "m2")
    assert await embeddings.drop_other_models(session, book.id, "openai", "m2") == 3
    assert await embeddings.count_vectors(session, book.id, "local", "m1") == 0
    assert await embeddings.count_vectors(session, book.id, "openai", "m2") == 3


async def test_a_book_with_no_text_has_nothing_to_embed(session: AsyncSession) -> None:
    book = await make_book(session)
    assert await embeddings.pending_items(session, book.id, "local", "m1") == ([], 0)
    book.description = "Told by the sea itself."
    item = embeddings.book_item(book)
    assert item is not None and item.shown == "Told by the sea itself." and item.content.startswith(book.title)
