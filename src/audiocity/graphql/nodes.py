"""The one `node` mechanism: each `Node` type registers how it is refetched; `node` and `nodes` dispatch here.

A fetcher takes the global ID and applies the same permission rules as the type's own query field, so
refetching through `node(id:)` never shows more than the dedicated field would. An ID of an unknown type,
or of an object the viewer may not see, resolves to null; a malformed ID is bad input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.relay import Node, from_global_id

NodeFetcher = Callable[[Info[Context, None], strawberry.ID], Awaitable[Node | None]]
F = TypeVar("F", bound=NodeFetcher)

# Filled at import time by the query modules (static wiring, not a cache): type name -> fetcher.
_FETCHERS: dict[str, NodeFetcher] = {}

MAX_NODES = 100


def node_fetcher(type_name: str) -> Callable[[F], F]:
    """Register `fetch` as the way to refetch `type_name` objects through `node` and `nodes`."""

    def register(fetch: F) -> F:
        if _FETCHERS.setdefault(type_name, fetch) is not fetch:
            raise RuntimeError(f"Two node fetchers for {type_name}")
        return fetch

    return register


def node_types() -> set[str]:
    """The type names `node(id:)` can resolve."""
    return set(_FETCHERS)


async def resolve_node(info: Info[Context, None], global_id: strawberry.ID) -> Node | None:
    type_name, _ = from_global_id(global_id)
    fetch = _FETCHERS.get(type_name)
    return await fetch(info, global_id) if fetch is not None else None


async def resolve_nodes(info: Info[Context, None], global_ids: list[strawberry.ID]) -> list[Node | None]:
    """One entry per ID, in order. All IDs are checked before any is fetched, so bad input fetches nothing."""
    if len(global_ids) > MAX_NODES:
        raise bad_input(f"At most {MAX_NODES} IDs per `nodes` call.")
    for global_id in global_ids:
        from_global_id(global_id)
    return [await resolve_node(info, global_id) for global_id in global_ids]
