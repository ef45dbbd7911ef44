"""services.catalog: validation, publishing, keyset pagination, full-text search and filters."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.ai.base import Segment
from audiocity.models import Audiobook
from audiocity.services import catalog, passages, transcripts
from audiocity.services.catalog import AudiobookInput, CatalogFilter, Sort
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import Page, encode_cursor
from tests.factories import (
    attach_file,
    make_book,
    make_published_book,
    random_word,
    unique,
)


async def all_pages(
    session: AsyncSession,
    *,
    first: int,
    flt: CatalogFilter | None = None,
    search: str | None = None,
    sort: Sort = Sort.NEWEST,
    include_drafts: bool = False,
) -> tuple[list[Audiobook], list[Page[Audiobook]]]:
    """Follow `endCursor` until `hasNextPage` is false."""
    pages: list[Page[Audiobook]] = []
    after: str | None = None
    while True:
        page = await catalog.list_audiobooks(
            session, first=first, after=after, search=search, flt=flt, sort=sort, include_drafts=include_drafts
        )
        pages.append(page)
        if not page.has_next_page:
            break
        assert page.cursors, "a page that has a next page must have an end cursor"
        after = page.cursors[-1]
        assert len(pages) < 50, "pagination does not terminate"
    return [b for p in pages for b in p.items], pages


async def search_ids(session: AsyncSession, search: str, *, include_drafts: bool = False) -> set[uuid.UUID]:
    page = await catalog.list_audiobooks(session, first=100, after=None, search=search, include_drafts=include_drafts)
    return {b.id for b in page.items}


# --- create / update / validation -------------------------------------------------------------


async def test_create_audiobook(session: AsyncSession) -> None:
    title = unique("The River")
    book = await catalog.create_audiobook(
        session,
        AudiobookInput(
            title=f"  {title}  ",
            subtitle="  A journey ",
            description="Water, mostly.",
            authors=["Jane Doe", " ", "Jane Doe", "John Roe"],
            narrators=["Nora Narrator"],
            categories=[unique("Nature")],
            language="en-GB",
            price_cents=1299,
            currency="EUR",
        ),
    )

    stored = await catalog.get_audiobook(session, book.id, include_drafts=True)
    assert stored.title == title
    assert stored.subtitle == "A journey"
    assert stored.authors == ["Jane Doe", "John Roe"]
    assert stored.narrators == ["Nora Narrator"]
    assert stored.language == "en-GB"
    assert (stored.price_cents, stored.currency) == (1299, "EUR")
    assert stored.published is False
    categories = await catalog.categories_for_books(session, [book.id])
    assert len(categories[book.id]) == 1


async def test_create_defaults(session: AsyncSession) -> None:
    book = await catalog.create_audiobook(session, AudiobookInput(title=unique("Plain"), price_cents=0))
    assert (book.currency, book.language, book.description, book.subtitle) == ("USD", "en", "", None)
    assert book.authors == [] and book.tags == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (AudiobookInput(price_cents=100), "title"),
        (AudiobookInput(title="   ", price_cents=100), "title"),
        (AudiobookInput(title="x" * 501, price_cents=100), "title"),
        (AudiobookInput(title="No price"), "priceCents"),
        (AudiobookInput(title="Negative", price_cents=-1), "priceCents"),
        (AudiobookInput(title="Too dear", price_cents=100_000_01), "priceCents"),
        (AudiobookInput(title="Bad currency", price_cents=100, currency="usd"), "currency"),
        (AudiobookInput(title="Bad currency", price_cents=100, currency="DOLLARS"), "currency"),
        (AudiobookInput(title="Bad language", price_cents=100, language="English"), "language"),
        (AudiobookInput(title="Long author", price_cents=100, authors=["a" * 201]), "authors"),
    ],
)
async def test_create_validation_errors(session: AsyncSession, data: AudiobookInput, field: str) -> None:
    with pytest.raises(ServiceError) as exc:
        await catalog.create_audiobook(session, data)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == field


async def test_update_changes_only_given_fields(session: AsyncSession) -> None:
    book = await make_book(session, authors=["Old Author"], price_cents=500)
    new_title = unique("Renamed")

    updated = await catalog.update_audiobook(
        session, book.id, AudiobookInput(title=new_title, price_cents=750, categories=[unique("Mystery")])
    )

    assert updated.title == new_title
    assert updated.price_cents == 750
    assert updated.authors == ["Old Author"]
    assert updated.currency == "USD"
    assert updated.updated_at is not None
    assert len((await catalog.categories_for_books(session, [book.id]))[book.id]) == 1
    # an empty category list clears them
    await catalog.update_audiobook(session, book.id, AudiobookInput(categories=[]))
    assert (await catalog.categories_for_books(session, [book.id]))[book.id] == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (AudiobookInput(title=""), "title"),
        (AudiobookInput(price_cents=-5), "priceCents"),
        (AudiobookInput(currency="EURO"), "currency"),
    ],
)
async def test_update_validation_errors(session: AsyncSession, data: AudiobookInput, field: str) -> None:
    book = await make_book(session, price_cents=500)
    with pytest.raises(ServiceError) as exc:
        await catalog.update_audiobook(session, book.id, data)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == field
    await session.refresh(book)
    assert book.price_cents == 500


async def test_update_unknown_book(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await catalog.update_audiobook(session, uuid.uuid4(), AudiobookInput(title="x"))


# --- publishing ---------------------------------------------------------------------------------


async def test_publish_requires_audio_files(session: AsyncSession) -> None:
    book = await make_book(session)

    with pytest.raises(ServiceError) as exc:
        await catalog.publish_audiobook(session, book.id, True)
    assert exc.value.code is ErrorCode.NO_AUDIO_FILES
    assert book.published is False

    await attach_file(session, book)
    published = await catalog.publish_audiobook(session, book.id, True)
    assert published.published is True
    assert (await catalog.get_audiobook(session, book.id, include_drafts=False)).id == book.id

    unpublished = await catalog.publish_audiobook(session, book.id, False)
    assert unpublished.published is False


async def test_drafts_are_hidden_from_customers(session: AsyncSession) -> None:
    author = unique("Author")
    draft = await make_book(session, authors=[author])
    published = await make_published_book(session, authors=[author])
    flt = CatalogFilter(author=author)

    customer_view = await catalog.list_audiobooks(session, first=10, after=None, flt=flt)
    admin_view = await catalog.list_audiobooks(session, first=10, after=None, flt=flt, include_drafts=True)

    assert [b.id for b in customer_view.items] == [published.id]
    assert customer_view.total_count == 1
    assert {b.id for b in admin_view.items} == {draft.id, published.id}
    assert admin_view.total_count == 2
    with pytest.raises(NotFound):
        await catalog.get_audiobook(session, draft.id, include_drafts=False)
    assert (await catalog.get_audiobook(session, draft.id, include_drafts=True)).id == draft.id


async def test_delete_audiobook_returns_storage_keys(session: AsyncSession) -> None:
    book = await make_book(session)
    files = [await attach_file(session, book, position=i) for i in range(2)]

    deletion = await catalog.delete_audiobook(session, book.id)

    assert not deletion.soft
    transcripts = [f"audiobooks/{book.id}/transcript.{fmt}" for fmt in ("txt", "vtt", "chapters.vtt")]
    assert sorted(deletion.storage_keys) == sorted([*(f.storage_key for f in files), *transcripts])
    with pytest.raises(NotFound):
        await catalog.get_audiobook(session, book.id, include_drafts=True)


# --- keyset pagination --------------------------------------------------------------------------


@pytest.mark.parametrize("sort", [s for s in Sort if s is not Sort.RELEVANCE])  # relevance: test_search.py
async def test_keyset_pagination_has_no_duplicates_or_gaps(session: AsyncSession, sort: Sort) -> None:
    author = unique("Prolific")
    # repeated prices and titles force the id tie-breaker to do its job
    books = [
        await make_published_book(
            session, title=f"{author} volume {i % 4}", price_cents=100 * (i % 3), authors=[author]
        )
        for i in range(11)
    ]
    await make_book(session, authors=[author])  # a draft, never listed to customers

    listed, pages = await all_pages(session, first=3, flt=CatalogFilter(author=author), sort=sort)

    ids = [b.id for b in listed]
    assert len(ids) == len(set(ids)) == 11
    assert set(ids) == {b.id for b in books}
    assert [len(p.items) for p in pages] == [3, 3, 3, 2]
    assert all(p.total_count == 11 for p in pages)
    keys = {
        Sort.NEWEST: lambda b: (b.created_at, b.id),
        Sort.OLDEST: lambda b: (b.created_at, b.id),
        Sort.TITLE: lambda b: (b.title, b.id),
        Sort.PRICE_LOW: lambda b: (b.price_cents, b.id),
        Sort.PRICE_HIGH: lambda b: (b.price_cents, b.id),
    }
    descending = sort in (Sort.NEWEST, Sort.PRICE_HIGH)
    assert listed == sorted(listed, key=keys[sort], reverse=descending)


async def test_page_size_limits(session: AsyncSession) -> None:
    author = unique("Author")
    await make_published_book(session, authors=[author])
    flt = CatalogFilter(author=author)

    empty = await catalog.list_audiobooks(session, first=0, after=None, flt=flt)
    assert empty.items == [] and empty.has_next_page is True and empty.total_count == 1
    for first in (-1, 101):
        with pytest.raises(ServiceError) as exc:
            await catalog.list_audiobooks(session, first=first, after=None, flt=flt)
        assert exc.value.code is ErrorCode.INVALID and exc.value.field == "first"


async def test_cursors_written_by_hand_in_the_published_format_still_page(session: AsyncSession) -> None:
    """A cursor is base64url of the JSON list [sort value, id]: cursors handed out before keep working."""
    author = unique("Kept")
    books = [
        await make_published_book(session, title=f"{author} {n}", price_cents=100 * n, authors=[author])
        for n in range(3)
    ]
    flt = CatalogFilter(author=author)
    middle = books[1]

    def cursor(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps([value, str(middle.id)]).encode()).decode()

    for sort, value, expected in (
        (Sort.TITLE, middle.title, [books[2]]),
        (Sort.PRICE_LOW, middle.price_cents, [books[2]]),
        (Sort.PRICE_HIGH, middle.price_cents, [books[0]]),
        (Sort.OLDEST, middle.created_at.isoformat(), [books[2]]),
        (Sort.NEWEST, middle.created_at.isoformat(), [books[0]]),
    ):
        page = await catalog.list_audiobooks(session, first=5, after=cursor(value), flt=flt, sort=sort)
        assert [b.id for b in page.items] == [b.id for b in expected], sort
        rows = await catalog.list_audiobook_rows(session, first=5, after=cursor(value), flt=flt, sort=sort)
        assert [r.id for r in rows.items] == [b.id for b in expected], sort


@pytest.mark.parametrize("sort", [s for s in Sort if s is not Sort.RELEVANCE])
async def test_plain_pages_follow_every_sort_like_the_general_query(session: AsyncSession, sort: Sort) -> None:
    """The unfiltered catalog, read through the statement built once per page shape, pages through the
    same books in the same order as the query built per request, drafts hidden and then shown."""
    for n in range(3):
        await make_published_book(session, title=f"{unique('Plain')} {n}", price_cents=100 + n)
    draft = await catalog.create_audiobook(session, catalog.AudiobookInput(title=unique("Draft"), price_cents=5))
    for include_drafts in (False, True):
        expected, _ = await all_pages(session, first=100, sort=sort, include_drafts=include_drafts)
        seen: list[uuid.UUID] = []
        after: str | None = None
        while True:
            page = await catalog.list_audiobook_rows(
                session, first=7, after=after, sort=sort, include_drafts=include_drafts
            )
            assert page.total_count == len(expected)
            seen.extend(r.id for r in page.items)
            if not page.has_next_page:
                break
            after = page.cursors[-1]
        assert seen == [b.id for b in expected]
        assert (draft.id in seen) is include_drafts


SOME_ID = str(uuid.uuid4())
MALFORMED_CURSORS = [
    (Sort.NEWEST, "not base64 !!"),
    (Sort.NEWEST, "bm90IGpzb24="),  # not JSON
    (Sort.NEWEST, encode_cursor([1])),
    (Sort.NEWEST, encode_cursor(["x", "not-a-uuid"])),
    (Sort.NEWEST, encode_cursor([1, 2])),
    (Sort.OLDEST, encode_cursor(["yesterday", SOME_ID])),
    (Sort.PRICE_LOW, encode_cursor(["cheap", SOME_ID])),
    (Sort.PRICE_HIGH, encode_cursor([True, SOME_ID])),
    (Sort.PRICE_LOW, encode_cursor([1.5, SOME_ID])),
    (Sort.PRICE_LOW, encode_cursor([100, 7])),
    (Sort.TITLE, encode_cursor([5, SOME_ID])),
    (Sort.TITLE, encode_cursor([{"a": 1}, SOME_ID])),
    (Sort.TITLE, encode_cursor(["t" * 501, SOME_ID])),
    (Sort.PRICE_LOW, encode_cursor([-1, SOME_ID])),
    (Sort.PRICE_LOW, encode_cursor([2**31, SOME_ID])),
    (Sort.NEWEST, encode_cursor(["2026-01-01T00:00:00", SOME_ID])),  # no time zone
]


@pytest.mark.parametrize(("sort", "cursor"), MALFORMED_CURSORS)
async def test_malformed_cursor_is_an_invalid_error(session: AsyncSession, sort: Sort, cursor: str) -> None:
    """A forged cursor is bad input (`INVALID` on `after`), never a database or internal error."""
    with pytest.raises(ServiceError) as exc:
        await catalog.list_audiobooks(session, first=5, after=cursor, sort=sort)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "after"
    with pytest.raises(ServiceError) as exc:  # the plain page's prepared statement checks it the same way
        await catalog.list_audiobook_rows(session, first=5, after=cursor, sort=sort)
    assert exc.value.code is ErrorCode.INVALID and exc.value.field == "after"
    # the transaction is still usable: nothing reached the database
    assert (await catalog.list_audiobooks(session, first=1, after=None, sort=sort)).total_count >= 0


# --- full-text search ---------------------------------------------------------------------------


async def test_search_by_title(session: AsyncSession) -> None:
    word = random_word()
    book = await make_published_book(session, title=f"The {word} Rivers of the North")
    other = await make_published_book(session)

    found = await search_ids(session, word)
    assert book.id in found and other.id not in found
    # the English configuration stems: the singular in the query finds the plural in the title
    assert book.id in await search_ids(session, f"{word} river")


async def test_search_by_author(session: AsyncSession) -> None:
    surname = random_word().capitalize()
    book = await make_published_book(session, authors=[f"Mary {surname}"])

    assert await search_ids(session, surname.lower()) == {book.id}
    assert await search_ids(session, f'"Mary {surname}"') == {book.id}


async def test_search_by_tag(session: AsyncSession) -> None:
    tag = random_word()
    book = await make_published_book(session)
    assert book.id not in await search_ids(session, tag)

    await transcripts.save_summary(session, book.id, "A summary of nothing much.", [tag, "river", "water"])

    assert await search_ids(session, tag) == {book.id}


async def test_search_by_transcript_text(session: AsyncSession) -> None:
    word = random_word()
    book = await make_published_book(session)
    text = f"and then the {word} swam across the river"
    assert await search_ids(session, word) == set()

    await passages.save_passages(session, book.id, [Segment(0.0, 2.0, text)])

    # the passage's generated vector matches at once: no refresh of the book needed
    assert await search_ids(session, word) == {book.id}
    await passages.save_passages(session, book.id, [Segment(0.0, 2.0, "something else entirely")])
    assert await search_ids(session, word) == set()


async def test_search_does_not_show_drafts_to_customers(session: AsyncSession) -> None:
    word = random_word()
    draft = await make_book(session, title=f"{word} draft")

    assert await search_ids(session, word) == set()
    assert await search_ids(session, word, include_drafts=True) == {draft.id}


async def test_search_with_no_match_and_blank_search(session: AsyncSession) -> None:
    author = unique("Author")
    book = await make_published_book(session, authors=[author])
    flt = CatalogFilter(author=author)

    assert await search_ids(session, random_word()) == set()
    blank = await catalog.list_audiobooks(session, first=10, after=None, search="   ", flt=flt)
    assert [b.id for b in blank.items] == [book.id]


# --- filters and categories ---------------------------------------------------------------------


async def test_filter_by_category(session: AsyncSession) -> None:
    category = unique("Sea Stories")
    slug = catalog.slugify(category)
    author = unique("Author")
    in_category = await make_published_book(session, categories=[category], authors=[author])
    await make_published_book(session, categories=[unique("Other")], authors=[author])
    await make_published_book(session, authors=[author])

    for value in (category, slug):
        page = await catalog.list_audiobooks(session, first=10, after=None, flt=CatalogFilter(category=value))
        assert [b.id for b in page.items] == [in_category.id]
        assert page.total_count == 1


async def test_filter_by_author(session: AsyncSession) -> None:
    author = unique("Author")
    first = await make_published_book(session, authors=[author])
    second = await make_published_book(session, authors=[unique("Co-author"), author])
    await make_published_book(session, authors=[unique("Someone else")])

    page = await catalog.list_audiobooks(session, first=10, after=None, flt=CatalogFilter(author=author))

    assert {b.id for b in page.items} == {first.id, second.id}
    assert page.total_count == 2


async def test_filter_by_tag_narrator_and_language(session: AsyncSession) -> None:
    tag = random_word()
    narrator = unique("Narrator")
    book = await make_published_book(session)
    await catalog.update_audiobook(session, book.id, AudiobookInput(narrators=[narrator], language="fr"))
    await transcripts.save_summary(session, book.id, "Résumé.", [tag, "mystery", "paris"])
    other = await make_published_book(session)

    for flt in (
        CatalogFilter(tag=tag),
        CatalogFilter(tag=tag.upper()),  # tags are stored lowercase, the filter ignores case
        CatalogFilter(narrator=narrator),
        CatalogFilter(narrator=narrator, language="fr", tag=tag),
    ):
        page = await catalog.list_audiobooks(session, first=10, after=None, flt=flt)
        assert [b.id for b in page.items] == [book.id], flt
    french = await catalog.list_audiobooks(session, first=100, after=None, flt=CatalogFilter(language="fr"))
    assert book.id in {b.id for b in french.items} and other.id not in {b.id for b in french.items}
    none = await catalog.list_audiobooks(
        session, first=10, after=None, flt=CatalogFilter(narrator=narrator, language="de")
    )
    assert none.items == [] and none.total_count == 0


async def test_categories_with_counts(session: AsyncSession) -> None:
    busy, quiet, drafts_only = unique("Busy"), unique("Quiet"), unique("Drafts only")
    await make_published_book(session, categories=[busy, quiet])
    await make_published_book(session, categories=[busy])
    await make_book(session, categories=[busy, drafts_only])

    public = {c.name: n for c, n in await catalog.categories_with_counts(session, include_drafts=False)}
    admin = {c.name: n for c, n in await catalog.categories_with_counts(session, include_drafts=True)}

    assert (public[busy], public[quiet]) == (2, 1)
    assert drafts_only not in public  # a category only drafts use would tell customers what is coming
    assert (admin[busy], admin[quiet], admin[drafts_only]) == (3, 1, 1)


async def test_categories_are_shared_by_slug(session: AsyncSession) -> None:
    name = unique("Science Fiction")
    first = await make_book(session, categories=[name])
    second = await make_book(session, categories=[name.upper().replace(" ", "-")])

    cats = await catalog.categories_for_books(session, [first.id, second.id])
    assert cats[first.id][0].id == cats[second.id][0].id
    assert cats[first.id][0].name == name
