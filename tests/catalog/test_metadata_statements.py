"""Metadata on the catalog page costs no statement per book: covers come from the page's own row and
series through one batched DataLoader query."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.services import catalog
from audiocity.services.catalog import AudiobookInput
from tests.catalog.test_catalog_statements import Recorder, pooled, run  # noqa: F401  (the fixture)
from tests.factories import attach_file, unique

PAGE = """query($first: Int!) { audiobooks(first: $first) { totalCount edges { node { id coverUrl
  cover { url width height thumbnails { url width } } series { name } seriesPosition publishedYear publisher isbn
  } } } }"""


async def test_metadata_page_statements_do_not_grow_with_the_page(
    pooled: tuple[async_sessionmaker[AsyncSession], Recorder],  # noqa: F811
    tmp_path: Path,
) -> None:
    sessions, recorder = pooled
    async with session_scope(sessions) as s:
        for i in range(4):
            book = await catalog.create_audiobook(
                s,
                AudiobookInput(
                    title=unique("Stmt"), price_cents=1, series=f"Stmt series {uuid.uuid4().hex[:6]}",
                    series_position=i, publisher="P", isbn="0-306-40615-2", published_year=2000,
                ),
            )  # fmt: skip
            book.cover_key, book.cover_width, book.cover_height, book.cover_sizes = (
                f"audiobooks/{book.id}/cover/t", 640, 480, [160, 320],
            )  # fmt: skip
            await attach_file(s, book)
            await catalog.publish_audiobook(s, book.id, True)
    await run(sessions, tmp_path, PAGE, 1)  # warm

    counts = {}
    for first in (10, 100):
        recorder.reset()
        data = await run(sessions, tmp_path, PAGE, first)
        nodes = [e["node"] for e in data["audiobooks"]["edges"]][:4]
        assert all(n["series"] and n["cover"]["width"] == 640 and len(n["cover"]["thumbnails"]) == 2 for n in nodes)
        assert all(n["coverUrl"] == n["cover"]["url"] for n in nodes)
        counts[first] = list(recorder.statements)
    assert len(counts[10]) == len(counts[100]) == 2, counts  # the page, then the series of all its books
