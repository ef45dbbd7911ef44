"""The public response cache over real HTTP: two API processes on one database and one Redis.

Every kind of catalog write shows on the next read from either process; drafts never reach customers;
answers that depend on the viewer are never cached; persisted queries work across processes, over GET
with ETag and 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import create_access_token
from audiocity.catalog_watch import APPLICATION_NAME
from audiocity.db import session_scope
from audiocity.graphql.relay import to_global_id
from audiocity.models import Audiobook, Category, Role
from audiocity.services import catalog, entitlements
from audiocity.services.catalog import AudiobookInput
from tests.e2e.server import Server, run_server
from tests.factories import attach_file, make_book, make_published_book, make_user

READ = """query($search: String) { audiobooks(first: 100, search: $search) { totalCount edges { node {
  id title price { amountCents } tags published files { fileName } categories { slug } } } } }"""
OWNED = """query($search: String) { audiobooks(first: 10, search: $search) { edges { node { id owned } } } }"""
SET_PRICE = """mutation($id: ID!, $price: Int!) { updateAudiobook(id: $id, input: {priceCents: $price}) {
  audiobook { id } errors { code } } }"""
PUBLISH = """mutation($id: ID!, $p: Boolean!) { publishAudiobook(id: $id, published: $p) { errors { code } } }"""


@dataclass
class Pair:
    a: Server
    b: Server
    sessions: async_sessionmaker[AsyncSession]
    admin_b: str  # an admin's bearer token valid on B
    admin_a: str = ""  # the same admin's token valid on A


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[tuple[Server, Server]]:
    with (
        run_server(tmp_path_factory.mktemp("cache-a"), database_url, redis_url, IN_PROCESS_WORKER="0") as a,
        run_server(
            tmp_path_factory.mktemp("cache-b"),
            database_url,
            redis_url,
            IN_PROCESS_WORKER="0",
            CATALOG_LISTEN_RETRY_SECONDS="3",
        ) as b,
    ):
        yield a, b


@pytest.fixture
async def pair(servers: tuple[Server, Server], sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Pair]:
    a, b = servers
    async with session_scope(sessions) as s:
        admin = await make_user(s, Role.ADMIN)
    yield Pair(
        a,
        b,
        sessions,
        create_access_token(b.env["SECRET_KEY"], admin.id, "ADMIN", 600),
        create_access_token(a.env["SECRET_KEY"], admin.id, "ADMIN", 600),
    )


def post(server: Server, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(server.graphql_url, json={"query": query, "variables": variables}, headers=headers, timeout=30)
    r.raise_for_status()
    assert "errors" not in r.json(), r.json()
    return r


def node(server: Server, word: str) -> dict[str, Any] | None:
    """The test's book as an anonymous visitor sees it on `server` (None: not in the catalog)."""
    return ours(post(server, READ, search=word), word)


def ours(response: httpx.Response, word: str) -> dict[str, Any] | None:
    """The test's book in a search answer: search forgives typos, so other tests' books with a similar
    random word may come along."""
    edges = response.json()["data"]["audiobooks"]["edges"]
    nodes = [e["node"] for e in edges if word in e["node"]["title"]]
    assert len(nodes) <= 1
    return nodes[0] if nodes else None


def cached_node(server: Server, word: str) -> dict[str, Any] | None:
    """Read twice: the second answer must come from the cache and equal the first."""
    first = node(server, word)
    r = post(server, READ, search=word)
    assert r.headers["x-cache"] == "HIT"
    assert ours(r, word) == first
    return first


async def published(pair: Pair) -> tuple[str, Audiobook]:
    word = f"q{uuid.uuid4().hex[:12]}"  # no prefix shared with other tests' words: search forgives typos
    async with session_scope(pair.sessions) as s:
        book = await make_published_book(s, title=f"The {word}", categories=["Cache Original"])
    return word, book


async def test_price_change_on_one_process_shows_on_the_other(pair: Pair) -> None:
    word, book = await published(pair)
    assert cached_node(pair.a, word)["price"]["amountCents"] == 999  # type: ignore[index]
    assert cached_node(pair.b, word)["price"]["amountCents"] == 999  # type: ignore[index]
    r = post(pair.b, SET_PRICE, pair.admin_b, id=to_global_id("Audiobook", book.id), price=1234)
    assert r.json()["data"]["updateAudiobook"]["errors"] == []
    assert cached_node(pair.a, word)["price"]["amountCents"] == 1234  # type: ignore[index]
    assert cached_node(pair.b, word)["price"]["amountCents"] == 1234  # type: ignore[index]


async def test_unpublish_and_publish(pair: Pair) -> None:
    word, book = await published(pair)
    assert cached_node(pair.a, word) is not None
    post(pair.b, PUBLISH, pair.admin_b, id=to_global_id("Audiobook", book.id), p=False)
    assert cached_node(pair.a, word) is None
    post(pair.b, PUBLISH, pair.admin_b, id=to_global_id("Audiobook", book.id), p=True)
    assert cached_node(pair.a, word) is not None


async def test_files_tags_categories_and_delete(pair: Pair) -> None:
    word, book = await published(pair)
    assert [f["fileName"] for f in cached_node(pair.a, word)["files"]] == ["part-0.mp3"]  # type: ignore[index]
    async with session_scope(pair.sessions) as s:
        await attach_file(s, book, position=1)
    assert [f["fileName"] for f in cached_node(pair.a, word)["files"]] == ["part-0.mp3", "part-1.mp3"]  # type: ignore[index]

    async with session_scope(pair.sessions) as s:  # tags are written by the pipeline, not by an admin
        await s.execute(update(Audiobook).where(Audiobook.id == book.id).values(tags=["alpha", "beta"]))  # type: ignore[arg-type]
    assert cached_node(pair.a, word)["tags"] == ["alpha", "beta"]  # type: ignore[index]

    async with session_scope(pair.sessions) as s:
        await catalog.update_audiobook(s, book.id, AudiobookInput(categories=["Cache Moved"]))
    assert [c["slug"] for c in cached_node(pair.a, word)["categories"]] == ["cache-moved"]  # type: ignore[index]
    async with session_scope(pair.sessions) as s:  # renaming the category itself
        category = (await s.execute(select(Category).where(Category.slug == "cache-moved"))).scalar_one()  # type: ignore[arg-type]
        category.slug = f"cache-renamed-{word}"
    assert [c["slug"] for c in cached_node(pair.a, word)["categories"]] == [f"cache-renamed-{word}"]  # type: ignore[index]

    async with session_scope(pair.sessions) as s:
        await catalog.delete_audiobook(s, book.id)
    assert cached_node(pair.a, word) is None


async def test_drafts_never_reach_customers(pair: Pair) -> None:
    word = f"d{uuid.uuid4().hex[:12]}"
    async with session_scope(pair.sessions) as s:
        await make_book(s, title=f"The {word}")
        customer = await make_user(s)
    assert cached_node(pair.a, word) is None
    admin_view = post(pair.b, READ, pair.admin_b, search=word)
    assert "x-cache" not in admin_view.headers  # a signed-in answer is never cached
    assert [e["node"]["published"] for e in admin_view.json()["data"]["audiobooks"]["edges"]] == [False]
    customer_token = create_access_token(pair.b.env["SECRET_KEY"], customer.id, "CUSTOMER", 600)
    assert post(pair.b, READ, customer_token, search=word).json()["data"]["audiobooks"]["edges"] == []
    assert cached_node(pair.a, word) is None
    assert cached_node(pair.b, word) is None


async def test_owned_is_never_shared_between_viewers(pair: Pair) -> None:
    word, book = await published(pair)
    async with session_scope(pair.sessions) as s:
        owner, other = await make_user(s), await make_user(s)
        await entitlements.grant(s, owner.id, [book.id], None)
    secret = pair.a.env["SECRET_KEY"]
    views = []
    for user in (owner, other, owner, None):
        token = create_access_token(secret, user.id, "CUSTOMER", 600) if user else None
        r = post(pair.a, OWNED, token, search=word)
        views.append([e["node"]["owned"] for e in r.json()["data"]["audiobooks"]["edges"]])
        assert ("x-cache" in r.headers) == (user is None)
    assert views == [[True], [False], [True], [False]]


def raw_post(server: Server, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.graphql_url, json=body, timeout=30)


def apq_get(server: Server, digest: str, headers: dict[str, str] | None = None, **variables: Any) -> httpx.Response:
    params = {
        "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}}),
        "variables": json.dumps(variables),
    }
    return httpx.get(server.graphql_url, params=params, headers=headers or {}, timeout=30)


async def test_persisted_queries_across_processes_with_etags(pair: Pair) -> None:
    word, book = await published(pair)
    document = READ + f"\n# {word}"  # a document no earlier run registered
    digest = hashlib.sha256(document.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    miss = raw_post(pair.a, {"extensions": ext, "variables": {"search": word}})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    unknown = apq_get(pair.b, digest, search=word)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    wrong = raw_post(pair.a, {"query": READ, "extensions": ext})
    assert wrong.status_code == 400
    registered = raw_post(pair.a, {"query": document, "extensions": ext, "variables": {"search": word}})
    assert registered.json()["data"]["audiobooks"]["totalCount"] == 1

    hit = apq_get(pair.b, digest, search=word)  # B learned the document through Redis
    assert hit.status_code == 200 and hit.json()["data"]["audiobooks"]["edges"][0]["node"]["title"] == f"The {word}"
    assert hit.headers["cache-control"].startswith("public")
    etag = hit.headers["etag"]
    not_modified = apq_get(pair.b, digest, {"If-None-Match": etag}, search=word)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert apq_get(pair.a, digest, {"If-None-Match": etag}, search=word).status_code == 304

    post(pair.b, SET_PRICE, pair.admin_b, id=to_global_id("Audiobook", book.id), price=4321)
    changed = apq_get(pair.a, digest, {"If-None-Match": etag}, search=word)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["data"]["audiobooks"]["edges"][0]["node"]["price"]["amountCents"] == 4321

    mutation = hashlib.sha256(PUBLISH.encode()).hexdigest()
    raw_post(pair.a, {"query": PUBLISH, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": mutation}},
                      "variables": {"id": "x", "p": True}})  # fmt: skip
    assert apq_get(pair.a, mutation, id="x", p=True).status_code in (400, 405)  # no mutations over GET


def metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    found = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    assert found, f"{name} not in /metrics"
    return float(found[0])


async def until(check: Any, what: str, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def listener_pid(sessions: async_sessionmaker[AsyncSession], server: Server) -> int | None:
    name = f"{APPLICATION_NAME}:{server.process.pid}"
    async with sessions() as s:
        found = await s.scalar(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n").bindparams(n=name))
    return int(found) if found is not None else None


async def test_cached_hits_take_the_version_from_the_listener(pair: Pair) -> None:
    async def up() -> bool:
        return metric(pair.b, "audiocity_catalog_listener_up") == 1

    await until(up, "the listener of B never came up")
    word, book = await published(pair)
    assert cached_node(pair.b, word)["price"]["amountCents"] == 999  # type: ignore[index]
    queries = metric(pair.b, "audiocity_catalog_version_queries_total")
    for price in (1500, 1600):  # written on A, read at once on B: fresh, and no version query on B
        r = post(pair.a, SET_PRICE, pair.admin_a, id=to_global_id("Audiobook", book.id), price=price)
        assert r.json()["data"]["updateAudiobook"]["errors"] == []
        assert cached_node(pair.b, word)["price"]["amountCents"] == price  # type: ignore[index]
    async with session_scope(pair.sessions) as s:  # a write from outside any API process
        await s.execute(update(Audiobook).where(Audiobook.id == book.id).values(price_cents=1700))  # type: ignore[arg-type]
    assert cached_node(pair.b, word)["price"]["amountCents"] == 1700  # type: ignore[index]
    assert metric(pair.b, "audiocity_catalog_version_queries_total") == queries


async def test_a_dropped_listener_falls_back_to_the_query_and_recovers(pair: Pair) -> None:
    async def up() -> bool:
        return (
            metric(pair.b, "audiocity_catalog_listener_up") == 1
            and await listener_pid(pair.sessions, pair.b) is not None
        )

    await until(up, "the listener of B never came up")
    word, book = await published(pair)
    assert cached_node(pair.b, word)["price"]["amountCents"] == 999  # type: ignore[index]
    old = await listener_pid(pair.sessions, pair.b)
    async with pair.sessions() as s:
        assert await s.scalar(text("SELECT pg_terminate_backend(:p)").bindparams(p=old))

    async def gone() -> bool:
        return await listener_pid(pair.sessions, pair.b) is None

    await until(gone, "the listener's backend did not exit", 10)
    queries = metric(pair.b, "audiocity_catalog_version_queries_total")
    async with session_scope(pair.sessions) as s:  # nobody hears this one: B must ask the database
        await s.execute(update(Audiobook).where(Audiobook.id == book.id).values(price_cents=2100))  # type: ignore[arg-type]
    assert cached_node(pair.b, word)["price"]["amountCents"] == 2100  # type: ignore[index]
    assert metric(pair.b, "audiocity_catalog_version_queries_total") > queries
    assert metric(pair.b, "audiocity_catalog_listener_up") == 0

    async def back() -> bool:
        pid = await listener_pid(pair.sessions, pair.b)
        return pid is not None and pid != old and metric(pair.b, "audiocity_catalog_listener_up") == 1

    await until(back, "the listener did not reconnect")
    queries = metric(pair.b, "audiocity_catalog_version_queries_total")
    async with session_scope(pair.sessions) as s:
        await s.execute(update(Audiobook).where(Audiobook.id == book.id).values(price_cents=2200))  # type: ignore[arg-type]
    assert cached_node(pair.b, word)["price"]["amountCents"] == 2200  # type: ignore[index]
    assert metric(pair.b, "audiocity_catalog_version_queries_total") == queries
