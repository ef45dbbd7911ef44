"""Relay refetching over real HTTP: every `Node` type round-trips through `node(id:)` and `nodes(ids:)`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.nodes import MAX_NODES, node_types
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.schema import build_schema
from audiocity.models import Role, User
from audiocity.services import catalog, jobs
from audiocity.services.catalog import AudiobookInput
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.factories import attach_file, make_user

NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""
ADD = """mutation($id: ID!) { addToCart(audiobookId: $id) { cart { id } errors { code } } }"""
CHECKOUT = """mutation($key: String!) { checkout(input: {provider: TEST, idempotencyKey: $key}) {
  order { id } errors { code } } }"""
CART = "{ cart { id } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("nodes-app")
    with run_server(data_dir, database_url, redis_url, TEST_PAYMENTS_ENABLED="1") as running:
        yield running


def client_for(server: Server, http: httpx.AsyncClient, user: User | None) -> GraphQLClient:
    token = create_access_token(server.env["SECRET_KEY"], user.id, user.role.value, 900) if user else None
    return GraphQLClient(http, server.graphql_url, token)


def test_every_node_type_has_a_fetcher() -> None:
    schema = build_schema()
    implementors = {
        name
        for name, definition in schema._schema.type_map.items()
        if Node.__name__ in [i.name for i in getattr(definition, "interfaces", [])]
    }
    assert implementors == {"Audiobook", "AudioFile", "Category", "Job", "Order", "Cart", "User", "Series"}
    assert node_types() == implementors


async def test_every_node_type_round_trips(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    category_name = f"Nodes {uuid.uuid4().hex[:8]}"
    async with session_scope(sessions) as s:
        admin = await make_user(s, Role.ADMIN)
        buyer = await make_user(s, Role.CUSTOMER)
        book = await catalog.create_audiobook(
            s,
            AudiobookInput(
                title=f"Node book {uuid.uuid4()}",
                price_cents=500,
                categories=[category_name],
                series=f"Node series {uuid.uuid4()}",
            ),
        )
        audio_file = await attach_file(s, book)
        await catalog.publish_audiobook(s, book.id, True)
        job, _ = await jobs.queue_transcription(s, book.id)
        category = next(
            c for c in (await catalog.categories_for_books(s, [book.id]))[book.id] if c.name == category_name
        )
    as_buyer = client_for(server, http, buyer)
    as_admin = client_for(server, http, admin)
    book_id = str(to_global_id("Audiobook", book.id))
    cart_id = (await as_buyer(ADD, id=book_id))["addToCart"]["cart"]["id"]
    order_id = (await as_buyer(CHECKOUT, key=str(uuid.uuid4())))["checkout"]["order"]["id"]
    new_cart = (await as_buyer(CART))["cart"]["id"]

    ids: dict[str, str] = {
        "Audiobook": book_id,
        "AudioFile": str(to_global_id("AudioFile", audio_file.id)),
        "Category": str(to_global_id("Category", category.id)),
        "Job": str(to_global_id("Job", job.id)),
        "Order": order_id,
        "Cart": new_cart,
        "User": str(to_global_id("User", buyer.id)),
        "Series": str(to_global_id("Series", book.series_id)),
    }
    assert set(ids) == node_types()
    assert cart_id == new_cart  # a user's cart is one row, emptied by checkout

    # The owner refetches everything that is theirs or public; jobs are for admins only.
    visible_to_buyer = {name: gid for name, gid in ids.items() if name != "Job"}
    for name, gid in visible_to_buyer.items():
        assert (await as_buyer(NODE, id=gid))["node"] == {"__typename": name, "id": gid}
    denied = await as_buyer.raw(NODE, id=ids["Job"])
    assert denied["data"] == {"node": None}
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = (await as_buyer(NODES, ids=list(visible_to_buyer.values())))["nodes"]
    assert listed == [{"__typename": name, "id": gid} for name, gid in visible_to_buyer.items()]

    # An admin refetches every type through `nodes`, in the order asked (the cart is the buyer's, so null).
    order = ["Job", "User", "Audiobook", "Series", "Order", "Category", "AudioFile", "Cart"]
    listed = (await as_admin(NODES, ids=[ids[n] for n in order]))["nodes"]
    expected: list[dict[str, Any] | None] = [{"__typename": n, "id": ids[n]} for n in order[:-1]]
    assert listed == [*expected, None]


async def test_malformed_and_foreign_ids(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessions) as s:
        viewer = await make_user(s, Role.CUSTOMER)
    client = client_for(server, http, viewer)
    unknown_type = str(to_global_id("Invoice", uuid.uuid4()))
    missing_book = str(to_global_id("Audiobook", uuid.uuid4()))
    someone_elses_cart = str(to_global_id("Cart", uuid.uuid4()))

    # Well-formed IDs of unknown types, missing objects or other people's carts are null, not errors.
    for gid in (unknown_type, missing_book, someone_elses_cart):
        assert await client(NODE, id=gid) == {"node": None}
    assert await client(NODES, ids=[unknown_type, missing_book, someone_elses_cart]) == {"nodes": [None] * 3}

    # A malformed ID is bad input with a clear message, in `node` and in `nodes` (nothing else is fetched).
    for query, variables in ((NODE, {"id": "not-an-id"}), (NODES, {"ids": [missing_book, "not-an-id"]})):
        body = await client.raw(query, **variables)
        assert body["data"] in ({"node": None}, None)  # `nodes` is a non-null list, so its null bubbles up
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Malformed ID" in error["message"]

    too_many = await client.raw(NODES, ids=[missing_book] * (MAX_NODES + 1))
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
