"""On a 10,000-book catalog, each kind of search reads its GIN index instead of scanning every row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.services import catalog
from tests.factories import unique

BOOKS = 10_000
WORDS = ("harbor", "meridian", "lantern", "garden", "river", "orchard", "compass", "thistle")

# Same document as services.catalog.refresh_search_vector, built set-wise for speed.
INSERT_BOOKS = """
INSERT INTO audiobooks (id, title, description, authors, narrators, tags, language, price_cents, currency,
                        duration_seconds, published, transcript_status, created_at, search_vector, search_names)
SELECT id, title, :marker, authors, '{}', '{}', 'en', 100, 'USD', 0, true, 'NONE', now() - i * interval '1 second',
       setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('simple', title), 'A')
       || setweight(to_tsvector('simple', array_to_string(authors, ' ')), 'B'),
       concat_ws(' ', title, array_to_string(authors, ' '))
FROM (
    SELECT i, gen_random_uuid() AS id,
           initcap(w[i % 8 + 1]) || ' ' || initcap(w[(i / 8) % 8 + 1]) || ' '
               || translate(md5(:marker || i::text), '0123456789', 'ghijklmnop') AS title,
           ARRAY[initcap(w[(i / 64) % 8 + 1]) || 'son ' || translate(md5('a' || i), '0123456789', 'qrstuvwxyz')]
               AS authors
    FROM generate_series(1, :n) AS i, (SELECT CAST(:words AS text[]) AS w) AS words
) AS generated
"""
INSERT_PASSAGES = """
INSERT INTO transcript_passages (id, audiobook_id, position, start_seconds, end_seconds, text)
SELECT gen_random_uuid(), b.id, p, p * 30.0, p * 30.0 + 30.0,
       'the ' || (CAST(:words AS text[]))[p + 1] || ' by the water, said '
           || translate(md5(b.id::text || p), '0123456789', 'abcdefghij')
FROM audiobooks b, generate_series(0, 2) AS p
WHERE b.description = :marker
"""


class Statements:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        self.seen.append((statement, parameters))


@pytest.fixture
async def big_catalog(session: AsyncSession) -> AsyncIterator[dict[str, str]]:
    marker = unique("bulk")
    await session.execute(text(INSERT_BOOKS), {"words": list(WORDS), "marker": marker, "n": BOOKS})
    await session.execute(text(INSERT_PASSAGES), {"words": list(WORDS), "marker": marker})
    # as autovacuum would: fold the GIN pending lists into the indexes, and count what is there
    for index in ("ix_audiobooks_search", "ix_audiobooks_search_names_trgm", "ix_transcript_passages_search"):
        await session.execute(text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": index})
    await session.execute(text("ANALYZE audiobooks"))
    await session.execute(text("ANALYZE transcript_passages"))
    title = await session.scalar(text("SELECT title FROM audiobooks WHERE description = :m LIMIT 1"), {"m": marker})
    spoken = await session.scalar(
        text("SELECT p.text FROM transcript_passages p JOIN audiobooks b ON b.id = p.audiobook_id "
             "WHERE b.description = :m LIMIT 1"),
        {"m": marker},
    )  # fmt: skip
    assert title is not None and spoken is not None
    yield {"title": title, "passage_word": spoken.rsplit(" ", 1)[1]}


async def plan(session: AsyncSession, search: str, *, analyze: bool = False) -> Any:
    statements = Statements()
    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", statements)
    try:
        page = await catalog.list_audiobook_rows(session, first=20, after=None, search=search)
    finally:
        event.remove(engine, "before_cursor_execute", statements)
    assert page.items, f"{search!r} finds something"
    [(statement, parameters)] = [s for s in statements.seen if "passage_hits" in s[0]]
    connection = await session.connection()
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    rows = await connection.exec_driver_sql(f"EXPLAIN ({options}) " + statement, parameters)
    raw = rows.scalar_one()
    return raw if isinstance(raw, list) else json.loads(raw)  # type: ignore[no-any-return]


def nodes(tree: Any) -> list[dict[str, Any]]:
    if isinstance(tree, list):
        return [n for item in tree for n in nodes(item)]
    found = [tree["Plan"]] if "Plan" in tree else [tree]
    for node in list(found):
        for child in node.get("Plans", []):
            found.extend(nodes(child))
    return found


def index_scans(tree: Any) -> set[str]:
    return {n["Index Name"] for n in nodes(tree) if n["Node Type"] == "Bitmap Index Scan"}


def searched_by_scanning(tree: Any) -> list[str]:
    """Sequential scans that test the search condition row by row (a join on ids may scan; a match may not)."""
    return [
        n.get("Filter", "")
        for n in nodes(tree)
        if n["Node Type"] == "Seq Scan" and any(op in n.get("Filter", "") for op in ("@@", "%>", "word_similarity"))
    ]


async def test_each_kind_of_search_uses_its_gin_index(session: AsyncSession, big_catalog: dict[str, str]) -> None:
    title_word = big_catalog["title"].rsplit(" ", 1)[1]  # a 32-letter word found in one title
    full_text = await plan(session, title_word)
    assert "ix_audiobooks_search" in index_scans(full_text), full_text

    typo = title_word[:10] + title_word[11:]  # one letter dropped: only trigrams find it
    trigram = await plan(session, typo)
    assert "ix_audiobooks_search_names_trgm" in index_scans(trigram), trigram

    spoken = await plan(session, big_catalog["passage_word"])
    assert "ix_transcript_passages_search" in index_scans(spoken), spoken

    for found in (full_text, trigram, spoken):
        assert searched_by_scanning(found) == [], found


async def test_a_common_word_is_ranked_without_looking_for_typos(
    session: AsyncSession, big_catalog: dict[str, str]
) -> None:
    """Thousands of books match "harbor" as typed: comparing every name with it by trigrams is skipped.

    The trigram arm stays in the plan with nothing to compare, so its index finds no book, although
    "harbor" is in a thousand titles; a word with no exact match does find books through it."""
    tree = await plan(session, "harbor", analyze=True)
    alike = trigram_index_scans(tree)
    assert alike and all(n["Actual Rows"] == 0 for n in alike), alike
    typo = await plan(session, big_catalog["title"].rsplit(" ", 1)[1][:-1], analyze=True)  # no exact match
    looked = trigram_index_scans(typo)
    assert looked and all(n["Actual Rows"] > 0 for n in looked), typo


def trigram_index_scans(tree: Any) -> list[dict[str, Any]]:
    return [n for n in nodes(tree) if "%>" in n.get("Index Cond", "")]
