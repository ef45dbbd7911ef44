"""services.credits: people and series as rows, found by name whatever the case, through indexes."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import AudiobookContributor, Contributor, ContributorRole
from audiocity.services import catalog, credits
from audiocity.services.catalog import AudiobookInput
from tests.factories import make_book, make_published_book, unique


async def test_books_by_author_is_an_indexed_lookup(session: AsyncSession) -> None:
    """The author filter goes name key -> credits index -> books, never through the book rows' arrays."""
    author = unique("Indexed Author")
    book = await make_published_book(session, authors=[author])
    query = credits.credited_book_ids(ContributorRole.AUTHOR, author.upper())
    assert list((await session.execute(query)).scalars()) == [book.id]

    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    await session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny test tables: ask what the indexes allow
    plan = "\n".join(r[0] for r in (await session.execute(text(f"EXPLAIN {sql}"))).all())
    assert "contributors_name_key_key" in plan
    assert "ix_audiobook_contributors_contributor" in plan
    assert "Seq Scan" not in plan


async def test_one_person_whatever_the_spelling_and_credits_follow_updates(session: AsyncSession) -> None:
    name = unique("Ada Quill")
    first = await make_book(session, authors=[name])
    second = await make_book(session, authors=[f"  {name.upper()} "])
    people = (await session.execute(select(Contributor).where(col(Contributor.name_key) == name.lower()))).scalars()
    [person] = list(people)
    assert person.name == name  # the first spelling is kept

    await catalog.update_audiobook(session, first.id, AudiobookInput(authors=["Someone", name], narrators=[name]))
    rows = (
        await session.execute(
            select(col(AudiobookContributor.role), col(AudiobookContributor.position), col(Contributor.name))
            .join(Contributor, col(Contributor.id) == col(AudiobookContributor.contributor_id))
            .where(col(AudiobookContributor.audiobook_id) == first.id)
            .order_by(col(AudiobookContributor.role), col(AudiobookContributor.position))
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (ContributorRole.AUTHOR, 0, "Someone"),
        (ContributorRole.AUTHOR, 1, name),
        (ContributorRole.NARRATOR, 0, name),
    ]
    by_author = set((await session.execute(credits.credited_book_ids(ContributorRole.AUTHOR, name))).scalars())
    assert by_author == {first.id, second.id}


async def test_series_are_shared_case_insensitively_and_can_be_left(session: AsyncSession) -> None:
    series = unique("Saga")
    one = await catalog.create_audiobook(
        session, AudiobookInput(title=unique("One"), price_cents=1, series=series, series_position=1)
    )
    two = await catalog.create_audiobook(
        session, AudiobookInput(title=unique("Two"), price_cents=1, series=series.upper())
    )
    assert one.series_id is not None and one.series_id == two.series_id
    await catalog.update_audiobook(session, one.id, AudiobookInput(series=""))
    assert (one.series_id, one.series_position) == (None, None)
