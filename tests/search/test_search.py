"""Catalog text search on a fixed set of books: ranking, typos, prefixes, transcript hits, odd input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.ai.base import Segment
from audiocity.models import Audiobook
from audiocity.services import catalog, passages, search, transcripts
from audiocity.services.catalog import AudiobookInput, CatalogFilter, Sort
from audiocity.services.pagination import decode_cursor
from audiocity.services.search import SearchField
from tests.factories import attach_file, make_book, make_published_book, random_word, unique


@dataclass
class Shelf:
    """The fixed books, all in one category of their own so other tests' books never interfere."""

    category: str
    books: dict[str, Audiobook]

    @property
    def flt(self) -> CatalogFilter:
        return CatalogFilter(category=self.category)

    def key(self, book_id: uuid.UUID) -> str:
        return next(k for k, b in self.books.items() if b.id == book_id)


async def add(
    session: AsyncSession,
    category: str,
    title: str,
    *,
    authors: list[str] | None = None,
    narrators: list[str] | None = None,
    description: str = "",
    published: bool = True,
) -> Audiobook:
    book = await catalog.create_audiobook(
        session,
        AudiobookInput(
            title=title,
            price_cents=500,
            authors=authors or ["Anon Writer"],
            narrators=narrators or [],
            description=description,
            categories=[category],
        ),
    )
    if published:
        await attach_file(session, book)
        await catalog.publish_audiobook(session, book.id, True)
    return book


@pytest.fixture
async def shelf(session: AsyncSession) -> Shelf:
    category = unique("shelf")
    books = {
        "voyage": await add(session, category, "Meridian Voyage", authors=["Jane Holloway"], narrators=["Sam Okafor"]),
        "returns": await add(session, category, "Meridian Voyage Returns", authors=["Jane Holloway"]),
        "line": await add(session, category, "The Meridian Line", authors=["Pia Lund"]),
        "clarke": await add(session, category, "Voyage of the Deep", authors=["Meridian Clarke"]),
        "sea": await add(
            session,
            category,
            "Sea Stories",
            description="A meridian voyage, then another meridian voyage: every meridian voyage retold.",
        ),
        "harbor": await add(session, category, "Harbor Lights", authors=["Ursula Brightwater"]),
        "rivers": await add(session, category, "Quiet Rivers", authors=["Tom Reed"]),
        "draft": await add(session, category, "Meridian Secrets", published=False),
    }
    segments = [
        Segment(0.0, 60.0, "It was a calm morning on the water. Nobody spoke of the deep."),
        Segment(60.0, 118.5, "The boats went out and came back, as they always did, full of fish. " * 5),
        Segment(118.5, 131.0, "Then the lighthouse keeper saw the kraken rise beside the <rocks> & reef."),
        Segment(131.0, 150.0, "He told nobody."),
    ]
    await passages.save_passages(session, books["rivers"].id, segments)
    await transcripts.save_summary(session, books["harbor"].id, "Ships come home at dusk.", ["ships", "dusk", "home"])
    return Shelf(category, books)


async def found(
    session: AsyncSession, shelf: Shelf, text: str, *, include_drafts: bool = False, sort: Sort | None = None
) -> list[str]:
    page = await catalog.list_audiobook_rows(
        session, first=100, after=None, search=text, flt=shelf.flt, include_drafts=include_drafts, sort=sort
    )
    return [shelf.key(row.id) for row in page.items]


async def test_exact_title_ranks_first(session: AsyncSession, shelf: Shelf) -> None:
    ranked = await found(session, shelf, "Meridian Voyage")
    assert ranked[0] == "voyage"
    # title words beat the same words in a description, and the draft never shows
    assert ranked.index("returns") < ranked.index("sea")
    assert "draft" not in ranked
    # case and spacing do not matter for the exact title
    assert (await found(session, shelf, "  meridian   VOYAGE "))[0] == "voyage"


async def test_title_beats_author_and_author_matches(session: AsyncSession, shelf: Shelf) -> None:
    ranked = await found(session, shelf, "meridian")
    assert set(ranked) >= {"voyage", "returns", "line", "clarke", "sea"}
    assert ranked.index("line") < ranked.index("clarke") < ranked.index("sea")

    assert await found(session, shelf, "Brightwater") == ["harbor"]
    assert await found(session, shelf, "Ursula Brightwater") == ["harbor"]
    assert (await found(session, shelf, "Okafor")) == ["voyage"]  # a narrator


async def test_a_typo_still_finds_the_book(session: AsyncSession, shelf: Shelf) -> None:
    ranked = await found(session, shelf, "Meridain Voyge")
    assert ranked[0] == "voyage"
    assert "harbor" not in ranked and "rivers" not in ranked
    assert await found(session, shelf, "Ursula Brightwatr") == ["harbor"]
    assert await found(session, shelf, "Harbr Lights") == ["harbor"]


async def test_prefix_for_search_as_you_type(session: AsyncSession, shelf: Shelf) -> None:
    assert set(await found(session, shelf, "Merid")) >= {"voyage", "returns", "line", "clarke"}
    assert await found(session, shelf, "Harbor Lig") == ["harbor"]
    assert await found(session, shelf, "Brightw") == ["harbor"]
    # a negated last word stays negated, it is not turned into a prefix
    assert "voyage" not in await found(session, shelf, "meridian -voyage")


async def test_transcript_hit_has_snippet_and_time(session: AsyncSession, shelf: Shelf) -> None:
    assert await found(session, shelf, "kraken") == ["rivers"]
    rivers = shelf.books["rivers"].id
    matches = await search.matches_for_books(session, [rivers, shelf.books["voyage"].id], "kraken")

    assert matches[shelf.books["voyage"].id] == []
    [hit] = matches[rivers]
    assert hit.field is SearchField.TRANSCRIPT
    assert hit.start_seconds == 118.5
    assert "<b>kraken</b>" in hit.snippet
    assert "&lt;rocks&gt; &amp; reef" in hit.snippet  # the text itself is escaped, only our markers are tags


async def test_matches_name_each_field(session: AsyncSession, shelf: Shelf) -> None:
    voyage, sea, harbor = shelf.books["voyage"].id, shelf.books["sea"].id, shelf.books["harbor"].id
    matches = await search.matches_for_books(session, [voyage, sea], "meridian voyage")
    assert [(m.field, m.snippet, m.start_seconds) for m in matches[voyage]] == [
        (SearchField.TITLE, "<b>Meridian</b> <b>Voyage</b>", None)
    ]
    assert [m.field for m in matches[sea]] == [SearchField.DESCRIPTION]
    assert "<b>meridian</b> <b>voyage</b>" in matches[sea][0].snippet

    typo = await search.matches_for_books(session, [voyage], "Meridain Voyge")
    assert [m.field for m in typo[voyage]] == [SearchField.TITLE]
    people = await search.matches_for_books(session, [voyage], "okafor")
    assert [(m.field, m.snippet) for m in people[voyage]] == [(SearchField.NARRATORS, "Sam <b>Okafor</b>")]
    tags = await search.matches_for_books(session, [harbor], "dusk")
    assert [m.field for m in tags[harbor]] == [SearchField.TAGS, SearchField.SUMMARY]


WEIRD = [
    '"',
    '""',
    "'",
    "''meridian''",
    "&|!:*()",
    "meridian & | ! : * ( ) <-> <2>",
    "(((",
    ":*",
    "-",
    "--meridian",
    'meridian "voyage',
    "or",
    "meridian or",
    "the of and",
    "a",
    "\\",
    "'; DROP TABLE audiobooks; --",
    "ünïcödé 東京 😀",
    "<b>meridian</b>",
    "meridian\x00voyage",
    "x" * 500,
    " ".join(["meridian"] * 55),
]


@pytest.mark.parametrize("text", WEIRD, ids=range(len(WEIRD)))
async def test_any_input_gives_a_list(session: AsyncSession, shelf: Shelf, text: str) -> None:
    page = await catalog.list_audiobook_rows(session, first=5, after=None, search=text, flt=shelf.flt)
    assert isinstance(page.items, list)
    assert page.total_count >= len(page.items)
    assert "draft" not in [shelf.key(r.id) for r in page.items]
    if page.has_next_page:  # the cursor of an odd search pages on too
        await catalog.list_audiobook_rows(session, first=5, after=page.cursors[-1], search=text, flt=shelf.flt)
    matches = await search.matches_for_books(session, [r.id for r in page.items], text)
    assert set(matches) == {r.id for r in page.items}


async def test_only_stopwords_still_matches_by_title_words(session: AsyncSession, shelf: Shelf) -> None:
    assert "line" in await found(session, shelf, "the")


async def test_drafts_are_hidden_from_customers(session: AsyncSession, shelf: Shelf) -> None:
    assert "draft" not in await found(session, shelf, "Meridian Secrets")
    assert "draft" not in await found(session, shelf, "Meridain Secrts")
    assert "draft" not in await found(session, shelf, "Secr")
    assert (await found(session, shelf, "Meridian Secrets", include_drafts=True))[0] == "draft"


async def test_an_explicit_sort_overrides_relevance(session: AsyncSession, shelf: Shelf) -> None:
    by_title = await found(session, shelf, "meridian", sort=Sort.TITLE)
    titles = [shelf.books[k].title for k in by_title]
    assert titles == sorted(titles)
    # relevance without a search is newest first
    page = await catalog.list_audiobook_rows(session, first=100, after=None, flt=shelf.flt, sort=Sort.RELEVANCE)
    newest = await catalog.list_audiobook_rows(session, first=100, after=None, flt=shelf.flt)
    assert [r.id for r in page.items] == [r.id for r in newest.items]


async def test_relevance_cursor_is_checked(session: AsyncSession, shelf: Shelf) -> None:
    from audiocity.services.errors import ServiceError
    from audiocity.services.pagination import encode_cursor

    for bad in (["high", str(uuid.uuid4())], [float("nan"), str(uuid.uuid4())], [True, str(uuid.uuid4())]):
        with pytest.raises(ServiceError):
            await catalog.list_audiobook_rows(session, first=2, after=encode_cursor(bad), search="meridian")


async def pages(session: AsyncSession, shelf: Shelf, text: str, between: Any = None) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    after: str | None = None
    for n in range(30):
        page = await catalog.list_audiobook_rows(session, first=3, after=after, search=text, flt=shelf.flt)
        seen.extend(r.id for r in page.items)
        for row, cursor in zip(page.items, page.cursors, strict=True):
            score, _ = decode_cursor(cursor)
            assert score == row.score  # the cursor carries the score exactly
        if not page.has_next_page:
            return seen
        after = page.cursors[-1]
        if between is not None:
            await between(n)
    raise AssertionError("pagination does not terminate")


async def test_keyset_pagination_is_stable_while_books_are_inserted(session: AsyncSession, shelf: Shelf) -> None:
    word = "lantern"
    originals = [
        await add(session, shelf.category, f"Lantern {i}" if i % 3 == 0 else f"Book {i}", authors=[f"Ann Lantern{i}"])
        for i in range(8)
    ]
    for i, book in enumerate(originals[:4]):
        await passages.save_passages(session, book.id, [Segment(10.0 * i, 10.0 * i + 5, f"a {word} in the dark")])
    before = await pages(session, shelf, word)
    assert set(before) >= {b.id for b in originals}
    assert len(before) == len(set(before))

    inserted: list[uuid.UUID] = []

    async def insert(n: int) -> None:
        best = await add(session, shelf.category, "Lantern")  # exact title: would sort first
        worst = await make_published_book(session, title=unique("Plain"))
        await catalog.update_audiobook(session, worst.id, AudiobookInput(categories=[shelf.category]))
        await passages.save_passages(session, worst.id, [Segment(0.0, 1.0, f"{word} " + "filler words " * 40)])
        inserted.extend([best.id, worst.id])

    during = await pages(session, shelf, word, between=insert)
    assert len(during) == len(set(during)), "no book twice"
    assert [i for i in during if i in set(before)] == before, "every earlier book once, in the same order"
    assert inserted and not set(inserted[::2]) & set(during), "books ranked above the cursor do not show"
    assert set(inserted[1::2]) & set(during), "books ranked below the cursor show on later pages"


async def test_blank_search_is_no_search(session: AsyncSession, shelf: Shelf) -> None:
    blank = await catalog.list_audiobook_rows(session, first=100, after=None, search="  \t ", flt=shelf.flt)
    assert len(blank.items) == 7
    assert not hasattr(blank.items[0], "score")


async def test_library_search_matches_words_prefixes_and_passages(session: AsyncSession) -> None:
    from audiocity.services import entitlements, library
    from tests.factories import make_user

    user = await make_user(session)
    book = await make_published_book(session, title=f"Meridian Voyage {unique('x')}")
    other = await make_book(session, title=f"Meridian Voyages {unique('y')}")
    await passages.save_passages(session, other.id, [Segment(5.0, 9.0, "the kraken woke")])
    await entitlements.grant(session, user.id, [book.id, other.id], None)

    async def listed(text: str) -> set[uuid.UUID]:
        page = await library.list_library(session, user.id, first=10, after=None, search=text)
        return {e.audiobook.id for e in page.items}

    assert await listed("kraken") == {other.id}
    assert await listed("Meridian Voy") == {book.id, other.id}
    assert await listed(book.title.rsplit(" ", 1)[1]) == {book.id}  # its own word only: no near misses


async def test_the_series_name_finds_its_books(session: AsyncSession) -> None:
    category = unique("series-shelf")
    series = unique("Chronicles of Valdmoor")
    book = await catalog.create_audiobook(
        session,
        AudiobookInput(
            title="The First Winter", price_cents=500, authors=["Ida Vance"], categories=[category], series=series
        ),
    )
    await attach_file(session, book)
    await catalog.publish_audiobook(session, book.id, True)
    other = await add(session, category, "Unrelated Tale")

    page = await catalog.list_audiobooks(
        session, first=10, after=None, search="valdmoor chronicles", flt=CatalogFilter(category=category)
    )
    assert [b.id for b in page.items] == [book.id]
    typo = await catalog.list_audiobooks(
        session, first=10, after=None, search="Valdmor", flt=CatalogFilter(category=category)
    )
    assert [b.id for b in typo.items] == [book.id]
    matches = await search.matches_for_books(session, [book.id, other.id], "valdmoor")
    assert [m.field for m in matches[book.id]] == [SearchField.SERIES]
    assert matches[other.id] == []


async def test_searches_of_one_shape_each_find_their_own_books(session: AsyncSession) -> None:
    """Without a filter, a search page's statement is built once per shape and run with each search's
    own words: exact words, prefixes, typos and the cursor of a later page all come from the request."""
    words = [random_word(16) for _ in range(3)]  # unlike each other: a typo of one finds no other
    books = {w: [await make_published_book(session, title=f"{w.title()} {n}") for n in range(3)] for w in words}
    for word in words:  # the same shape each time: one plain word, taken as a prefix too
        for text in (word, word[:-3], word[:4] + word[5:]):  # whole, half typed, one letter dropped
            page = await catalog.list_audiobook_rows(session, first=2, after=None, search=text)
            assert page.total_count == 3, (text, page.total_count)
            later = await catalog.list_audiobook_rows(session, first=2, after=page.cursors[-1], search=text)
            found_ids = {r.id for r in page.items} | {r.id for r in later.items}
            assert found_ids == {b.id for b in books[word]}, text
            assert not later.has_next_page
