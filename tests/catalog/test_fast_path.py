"""The compiled catalog plan answers exactly what the executor answers, byte for byte, or steps aside.

The corpus: every GraphQL document in the test suite's Python sources that reads the catalog, the
library or search, every query of the client's operation files, the benchmark's documents, and
variations (aliases, fragments, `__typename`, merged fields, first 0/1/100, after cursors, filters,
sorts), each run as an anonymous visitor, a customer who owns a book, and an admin who sees drafts.
Each is executed with FAST_PATH on and off and the JSON answers are compared as bytes.
"""

from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from strawberry.types import ExecutionResult

from audiocity.auth.tokens import create_access_token
from audiocity.config import Settings
from audiocity.db import session_scope
from audiocity.graphql.allow_list import operations_in
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from audiocity.metrics import REGISTRY
from audiocity.models import Audiobook, Role
from audiocity.resources import AppResources
from audiocity.services import entitlements
from tests.app_resources import in_process_resources
from tests.factories import attach_file, make_book, make_published_book, make_user

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fast-path-secret-0123456789-abcdef-0123"
WORD = f"fastpath{uuid.uuid4().hex[:8]}"
CARD = "id title subtitle authors narrators tags price { amountCents currency } durationSeconds coverUrl"
BENCH_PAGE = f"""query Page($first: Int!) {{ audiobooks(first: $first) {{ totalCount
 pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {CARD} categories {{ name slug }}
 files {{ id position fileName contentType sizeBytes durationSeconds }} }} }} }} }}"""
VARIATIONS = [
    BENCH_PAGE,
    BENCH_PAGE.replace("categories {", "owned categories {"),
    "{ audiobooks(first: 3) { totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage "
    "startCursor endCursor } } }",
    "{ __typename a: audiobooks(first: 1) { __typename n: totalCount edges { __typename node { __typename "
    "i: id t: title price { __typename c: currency } } } } b: audiobooks(first: 2, sort: TITLE) { totalCount } }",
    "{ audiobooks(first: 2) { edges { node { id } } } audiobooks(first: 2) { edges { node { title files { id } } "
    "cursor } totalCount } }",
    "query Q { audiobooks(first: 2) { ...Conn } } fragment Conn on AudiobookConnection { totalCount edges { "
    "node { ...Card ... on Audiobook { files { fileName codec createdAt } } ... on Node { id } } } } "
    f"fragment Card on Audiobook {{ {CARD} language published transcriptStatus createdAt updatedAt "
    "seriesPosition publishedYear publisher isbn }",
    "{ audiobooks(first: 0) { totalCount edges { node { id } } pageInfo { endCursor hasNextPage } } }",
    "{ audiobooks(first: 100) { totalCount edges { node { id title categories { id name slug audiobookCount "
    "__typename } } } } }",
    "query($after: String) { audiobooks(first: 1, after: $after) { edges { cursor node { id title } } "
    "pageInfo { endCursor } } }",
    f'{{ audiobooks(first: 5, filter: {{category: "{WORD}-shelf"}}) {{ totalCount edges {{ node {{ id '
    "categories { slug } } } } }",
    '{ audiobooks(first: 5, filter: {tag: "fastpathtag", language: "en"}) { totalCount edges { node { id tags } } } }',
    f'{{ audiobooks(first: 5, search: "{WORD}") {{ totalCount edges {{ node {{ id title description summary }} '
    "} } }",
    f'{{ audiobooks(first: 5, search: "{WORD}") {{ edges {{ matches {{ field snippet }} node {{ id }} }} }} }}',
    "{ audiobooks(first: 5, sort: PRICE_HIGH) { edges { cursor node { id price { amountCents } owned } } } }",
    '{ audiobooks(first: 5, after: "not-a-cursor") { totalCount } }',
    "{ audiobooks(first: 2) { edges { node { id series { name } } } } }",
    "query($yes: Boolean!) { audiobooks(first: 2) { edges { node { id title @include(if: $yes) } } } }",
    "{ audiobooks(first: 2) { edges { node { id cover { url } } } } categories { slug } }",
]
FAST_DOCUMENTS = {VARIATIONS[i] for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13)}


def suite_documents() -> list[str]:
    """GraphQL strings in the tests' Python sources that read the catalog, the library or search."""
    found: set[str] = set()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            if not any(k in text for k in ("audiobooks", "audiobook(", "library")) or "{" not in text:
                continue
            try:
                document = parse(text)
            except GraphQLError:
                continue
            ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if ops and all(o.operation.value == "query" for o in ops) and len(ops) == 1:
                found.add(text)
    return sorted(found)


def client_documents() -> list[str]:
    sources = [p.read_text() for p in sorted((ROOT / "client" / "operations").glob("*.graphql"))]
    return [
        text
        for text in operations_in(sources).values()
        if text.lstrip().startswith("query") and any(k in text for k in ("audiobooks", "audiobook(", "library"))
    ]


def fast_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("audiocity_graphql_fast_path_total", {"outcome": outcome}) or 0.0


class Runner:
    def __init__(self, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.schema = build_schema(Settings(AUDIOCITY_DATA_DIR=tmp_path))
        self.resources = {fast: self._resources(tmp_path, sessions, fast) for fast in (True, False)}

    @staticmethod
    def _resources(tmp_path: Path, sessions: async_sessionmaker[AsyncSession], fast: bool) -> AppResources:
        return in_process_resources(
            sessions,
            tmp_path,
            SECRET,
            settings=Settings(AUDIOCITY_DATA_DIR=tmp_path, FAST_PATH=fast),
            token_ttl_seconds=600,
        )

    async def run(self, fast: bool, query: str, variables: dict[str, Any] | None, token: str | None) -> bytes:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
        context = Context(resources=self.resources[fast], request=request)
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        return encode(result)


def encode(result: ExecutionResult) -> bytes:
    """The answer as the HTTP view sends it (the same dicts through the same encoder)."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return json.dumps(body).encode()


def guessed_variables(query: str, ids: dict[str, str]) -> list[dict[str, Any]]:
    """Values for a document's variables by name and type: a plain set and a searching one."""
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    plain: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name, kind = definition.variable.name.value, str(definition.type.to_dict().get("kind"))
        type_text = json.dumps(definition.type.to_dict())
        if '"Int"' in type_text:
            plain[name] = 3
        elif '"ID"' in type_text:
            plain[name] = ids["book"]
        elif '"Boolean"' in type_text:
            plain[name] = True
        elif '"AudiobookFilter"' in type_text:
            plain[name] = {"tag": "fastpathtag"}
        elif '"String"' in type_text and kind:
            plain[name] = WORD if name in ("search", "q", "s", "word") else None
    searching = {k: (WORD if isinstance(v, str) or k == "search" else v) for k, v in plain.items()}
    return [plain, searching] if searching != plain else [plain]


@pytest.fixture
async def catalog_books(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with session_scope(sessions) as s:
        book = await make_published_book(s, title=f"The {WORD} River", categories=[f"{WORD}-shelf", "Mystery"])
        for n in range(3):
            await attach_file(s, book, position=n + 1, duration=61.5 + n)
        second = await make_published_book(s, title=f"A {WORD} Stone", price_cents=1999, categories=[f"{WORD}-shelf"])
        draft = await make_book(s, title=f"Draft {WORD}")
        await attach_file(s, draft)
        await s.execute(
            update(Audiobook)
            .where(Audiobook.id == book.id)  # type: ignore[arg-type]
            .values(tags=["fastpathtag", "river"], summary="A summary.", series_position=2.5, published_year=1999,
                    publisher="Fast House", isbn="9780306406157", cover_url="https://example.com/c.jpg")
        )  # fmt: skip
        customer = await make_user(s)
        admin = await make_user(s, Role.ADMIN)
        await entitlements.grant(s, customer.id, [second.id], None)
    from audiocity.graphql.relay import to_global_id

    return {
        "ids": {"book": to_global_id("Audiobook", book.id)},
        "viewers": {
            "anonymous": None,
            "customer": create_access_token(SECRET, customer.id, Role.CUSTOMER.value, 600),
            "admin": create_access_token(SECRET, admin.id, Role.ADMIN.value, 600),
        },
    }


async def compare(runner: Runner, query: str, variables: dict[str, Any] | None, viewers: dict[str, Any]) -> None:
    for who, token in viewers.items():
        fast = await runner.run(True, query, variables, token)
        slow = await runner.run(False, query, variables, token)
        assert fast == slow, f"{who}: {query} {variables}\nfast: {fast[:600]!r}\nexecutor: {slow[:600]!r}"


async def test_corpus_answers_byte_for_byte(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], catalog_books: dict[str, Any]
) -> None:
    runner = Runner(tmp_path, sessions)
    viewers = catalog_books["viewers"]
    corpus = suite_documents() + client_documents()
    assert len(corpus) >= 15, corpus
    before = {o: fast_count(o) for o in ("fast", "fallback", "unsupported")}
    for query in corpus:
        for variables in guessed_variables(query, catalog_books["ids"]):
            await compare(runner, query, variables, viewers)
    for query in VARIATIONS:
        for variables in guessed_variables(query, catalog_books["ids"]):
            await compare(runner, query, variables, viewers)
    # a cursor from a real page, and the page after it
    first = json.loads(await runner.run(False, VARIATIONS[8], {"after": None}, None))
    cursor = first["data"]["audiobooks"]["pageInfo"]["endCursor"]
    await compare(runner, VARIATIONS[8], {"after": cursor}, viewers)
    assert fast_count("fast") > before["fast"] + 3 * len(FAST_DOCUMENTS)
    assert fast_count("unsupported") > before["unsupported"]
    assert fast_count("fallback") > before["fallback"]


async def test_supported_documents_take_the_plan_and_others_fall_back(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], catalog_books: dict[str, Any]
) -> None:
    runner = Runner(tmp_path, sessions)
    token = catalog_books["viewers"]["customer"]
    outcomes: dict[str, Callable[[], float]] = {
        o: (lambda o=o: fast_count(o))  # type: ignore[misc]
        for o in ("fast", "fallback", "unsupported")
    }
    for query in VARIATIONS:
        before = {o: f() for o, f in outcomes.items()}
        variables = guessed_variables(query, catalog_books["ids"])[0]
        answer = json.loads(await runner.run(True, query, variables, token))
        moved = {o for o, f in outcomes.items() if f() > before[o]}
        if query in FAST_DOCUMENTS:
            assert moved == {"fast"}, (query, moved)
            assert "data" in answer and answer["data"] is not None and "errors" not in answer
            assert answer["extensions"]["cost"]["requested"] >= 0  # the guard still prices it
        else:
            assert moved <= {"fallback", "unsupported"} and moved, (query, moved)
    # A bad token is the executor's UNAUTHENTICATED, not an anonymous page.
    before_fallback = fast_count("fallback")
    answer = json.loads(await runner.run(True, BENCH_PAGE, {"first": 2}, "not-a-token"))
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert fast_count("fallback") == before_fallback + 1
    # FAST_PATH off: the plan is never consulted.
    before = {o: f() for o, f in outcomes.items()}
    await runner.run(False, BENCH_PAGE, {"first": 2}, None)
    assert {o: f() for o, f in outcomes.items()} == before
