"""Meaning search and similar books on a fixed set of books, through the GraphQL schema.

The books are embedded with the local all-MiniLM-L6-v2 (the same code path as the pipeline's stage:
`pending_items` then `save_vectors`). Each test module's books share a unique category, so books
other tests left in the shared database cannot change the ranking.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from audiocity.ai.base import Segment
from audiocity.ai.local_embeddings import LocalEmbedder
from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.context import Context
from audiocity.graphql.relay import to_global_id
from audiocity.graphql.schema import build_schema
from audiocity.models import Audiobook, Role
from audiocity.resources import AppResources
from audiocity.services import catalog, embeddings, passages, semantic
from tests.app_resources import in_process_resources
from tests.factories import make_book, make_published_book, make_user, unique

pytestmark = pytest.mark.usefixtures("requires_pgvector")  # meaning search needs pgvector

SECRET = "semantic-search-secret-0123456789-abcdef"

# Summaries share no word with the queries used below.
BOOKS = {
    "storm": ("The Last Voyage of the Meridian", "A ship captain fights to keep his crew alive when a violent storm "
              "tears through the ocean and the vessel begins to take on water."),
    "bakery": ("The Baker of Rue Cler", "A young pastry chef opens a small bakery in Paris and falls for the "
               "violinist who lives upstairs."),
    "quantum": ("Quantum Gardens", "A physicist discovers that the plants in her laboratory respond to quantum "
                "fluctuations, and a corporation wants the secret."),
    "heist": ("The Vault Job", "Four retired thieves plan one last robbery of a bank vault in Zurich, but one of "
              "them is an informant."),
}  # fmt: skip
DRAFT = ("Adrift", "A sailor lost at sea drifts alone for weeks after a hurricane sinks his boat.")
# Each over PASSAGE_SOFT_CHARS, so each is a passage of its own.
BAKERY_PASSAGES = [
    Segment(0.0, 40.0, "Chapter one. The rent was due at the end of the month, the shop was empty, and the "
            "landlord had written twice already. She counted the coins in the tin and counted them again, as if "
            "the number might change. The street outside was quiet, the tourists had gone home, and the only "
            "sound was the old refrigerator humming in the back room."),
    Segment(40.0, 75.0, "Before sunrise she pulled warm croissants and crusty loaves out of the oven, one tray "
            "after another, until the whole counter smelled of butter and yeast. The first customers were the "
            "street sweepers and the night nurses on their way home, who bought whatever was still hot and ate "
            "it standing by the door while the sky turned pink."),
    Segment(75.0, 110.0, "The letter from the landlord was short and polite and entirely without mercy: the "
            "money by Friday, or the keys. She read it standing up, then sitting down, then she folded it into a "
            "small square and put it under the cash register where she would not have to look at it while she "
            "decided what on earth to do next."),
]  # fmt: skip

SEARCH = """query($q: String!, $cat: String!, $first: Int, $after: String, $search: String) {
  audiobooks(semantic: $q, search: $search, first: $first, after: $after, filter: {category: $cat}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id title } matches { field snippet startSeconds } } } }"""
SIMILAR = """query($id: ID!, $first: Int!) { audiobook(id: $id) { title similar(first: $first) { id title } } }"""


@dataclass
class Catalog:
    category: str
    ids: dict[str, uuid.UUID]
    draft: uuid.UUID


async def embed_book(session: AsyncSession, book_id: uuid.UUID, embedder: LocalEmbedder) -> int:
    pending, _total = await embeddings.pending_items(session, book_id, embedder.name, embedder.model)
    result = await embedder.embed([item.content for item in pending])
    await embeddings.save_vectors(session, book_id, embedder.name, embedder.model, pending, result.vectors)
    return len(pending)


@pytest.fixture(scope="module")
async def books(sessions: async_sessionmaker[AsyncSession], has_pgvector: bool) -> AsyncIterator[Catalog]:
    if not has_pgvector:
        pytest.skip("this PostgreSQL has no pgvector, so meaning search is off (the embedded one has it)")
    category = unique("Meaning")
    embedder = LocalEmbedder()
    ids: dict[str, uuid.UUID] = {}
    async with session_scope(sessions) as s:
        for key, (title, summary) in BOOKS.items():
            book = await make_published_book(s, title=title, categories=[category])
            book.summary = summary
            await s.flush()
            await catalog.refresh_search_vector(s, book.id)
            ids[key] = book.id
        draft = await make_book(s, title=DRAFT[0], categories=[category])
        draft.summary = DRAFT[1]
        await s.flush()
        await passages.save_passages(s, ids["bakery"], BAKERY_PASSAGES)
        for book_id in [*ids.values(), draft.id]:
            await embed_book(s, book_id, embedder)
    yield Catalog(category, ids, draft.id)
    async with session_scope(sessions) as s:
        for book_id in [*ids.values(), draft.id]:
            book = await s.get(Audiobook, book_id)
            if book is not None:
                await s.delete(book)


def resources(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> AppResources:
    return in_process_resources(sessions, tmp_path, SECRET)


async def run(res: AppResources, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
    return await build_schema().execute(
        query, variable_values=variables, context_value=Context(resources=res, request=request)
    )


async def titles(res: AppResources, books: Catalog, q: str, token: str | None = None, **more: Any) -> list[str]:
    result = await run(res, SEARCH, token, q=q, cat=books.category, **more)
    assert result.errors is None, result.errors
    return [e["node"]["title"] for e in result.data["audiobooks"]["edges"]]


async def test_meaning_only_query_ranks_the_right_book_first(
    books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    res = resources(sessions, tmp_path)
    result = await run(res, SEARCH, q="a sailor lost at sea", cat=books.category)
    assert result.errors is None, result.errors
    edges = result.data["audiobooks"]["edges"]
    assert edges[0]["node"]["title"] == "The Last Voyage of the Meridian"
    assert edges[0]["matches"][0] == {"field": "SUMMARY", "snippet": BOOKS["storm"][1], "startSeconds": None}
    assert DRAFT[0] not in [e["node"]["title"] for e in edges]  # the closest text of all is a draft
    assert result.data["audiobooks"]["totalCount"] == len(BOOKS)

    assert (await titles(res, books, "stealing money from a bank"))[0] == "The Vault Job"
    assert (await titles(res, books, "science experiments with flowers"))[0] == "Quantum Gardens"


async def test_a_transcript_passage_is_the_match_with_its_time(
    books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    res = resources(sessions, tmp_path)
    result = await run(res, SEARCH, q="fresh bread baked early in the morning", cat=books.category)
    assert result.errors is None, result.errors
    first = result.data["audiobooks"]["edges"][0]
    assert first["node"]["title"] == "The Baker of Rue Cler"
    assert first["matches"][0] == {"field": "TRANSCRIPT", "snippet": BAKERY_PASSAGES[1].text, "startSeconds": 40.0}


async def test_search_filters_and_pages_are_stable(
    books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    res = resources(sessions, tmp_path)
    everything = await titles(res, books, "an adventure", first=10)
    assert len(everything) == len(BOOKS)
    seen: list[str] = []
    after = None
    for _ in range(len(BOOKS)):
        result = await run(res, SEARCH, q="an adventure", cat=books.category, first=1, after=after)
        assert result.errors is None, result.errors
        page = result.data["audiobooks"]
        seen += [e["node"]["title"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == everything
    # `search` also filters: only books whose text matches "Zurich" remain, ranked by meaning
    assert await titles(res, books, "a sailor lost at sea", search="Zurich") == ["The Vault Job"]


async def test_admins_find_drafts_and_customers_never(
    books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with session_scope(sessions) as s:
        admin = await make_user(s, Role.ADMIN)
    token = create_access_token(SECRET, admin.id, admin.role.value, 60)
    res = resources(sessions, tmp_path)
    assert (await titles(res, books, "a sailor lost at sea", token))[0] == DRAFT[0]


async def test_similar_books_are_stable_and_never_drafts(
    books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    res = resources(sessions, tmp_path)
    storm = to_global_id("Audiobook", books.ids["storm"])
    answers = []
    for _ in range(2):
        result = await run(res, SIMILAR, id=storm, first=50)
        assert result.errors is None, result.errors
        answers.append([b["title"] for b in result.data["audiobook"]["similar"]])
    assert answers[0] == answers[1]
    mine = [t for t in answers[0] if t in {title for title, _ in BOOKS.values()}]
    assert len(mine) == len(BOOKS) - 1 and "The Last Voyage of the Meridian" not in mine
    assert DRAFT[0] not in answers[0]
    result = await run(res, SIMILAR, id=storm, first=2)
    assert [b["title"] for b in result.data["audiobook"]["similar"]] == answers[0][:2]
    result = await run(res, SIMILAR, id=storm, first=51)
    assert result.errors and result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_similar_books_of_many_books_in_one_call(
    books: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s:
        found = await semantic.similar_books(
            s, list(books.ids.values()), provider="local", model="all-MiniLM-L6-v2", first=2, include_drafts=False
        )
    assert set(found) == set(books.ids.values())
    assert all(len(rows) == 2 for rows in found.values())
    assert all(book_id not in [r.id for r in found[book_id]] for book_id in found)


async def test_without_pgvector_meaning_search_says_so(
    books: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Where the migration found no pgvector there is no embeddings table: a clear error, not a 500."""
    async with sessions() as s:
        assert await embeddings.vectors_available(s)
        await s.execute(text("ALTER TABLE embeddings RENAME TO embeddings_hidden"))  # rolled back below
        try:
            assert not await embeddings.vectors_available(s)
            with pytest.raises(semantic.SemanticUnavailable, match="pgvector"):
                await semantic.semantic_page(
                    s, vector=[0.0] * 384, provider="local", model="all-MiniLM-L6-v2", text_query="x",
                    first=5, after=None,
                )  # fmt: skip
            with pytest.raises(semantic.SemanticUnavailable, match="pgvector"):
                await semantic.similar_books(
                    s, [books.ids["storm"]], provider="local", model="x", first=3, include_drafts=False
                )
        finally:
            await s.rollback()


async def test_bad_input_is_refused(books: Catalog, sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    res = resources(sessions, tmp_path)
    for q, after in (("   ", None), ("x" * 501, None), ("sea", "bm90IGEgY3Vyc29y")):
        result = await run(res, SEARCH, q=q, cat=books.category, after=after)
        assert result.errors and result.errors[0].extensions["code"] == "BAD_USER_INPUT", (q, result.errors)
