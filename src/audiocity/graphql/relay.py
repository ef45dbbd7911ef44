"""Global IDs, the Node interface and Relay connections built from service `Page`s."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Generic, TypeVar

import strawberry
from graphql import GraphQLError

from audiocity.graphql.errors import bad_input
from audiocity.services.errors import ErrorCode, ServiceError

T = TypeVar("T")


def to_global_id(type_name: str, raw_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("="))


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, uuid.UUID]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, raw = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        value = uuid.UUID(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_input(f"Malformed ID: {global_id!r}.") from exc
    if expected is not None and type_name != expected:
        raise bad_input(f"ID {global_id!r} is not a {expected} ID.")
    return type_name, value


def decode_id(global_id: str, expected: str) -> uuid.UUID:
    return from_global_id(global_id, expected)[1]


@strawberry.interface(description="An object with a globally unique ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique; pass it to `node(id:)`.")


@strawberry.type(description="Where a page sits in the whole list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow; pass `endCursor` as `after`.")
    has_previous_page: bool = strawberry.field(description="Always false: pages go forward only.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; null on an empty page.")

    @classmethod
    def of(cls, cursors: Sequence[str], has_next_page: bool) -> PageInfo:
        return cls(
            has_next_page=has_next_page,
            has_previous_page=False,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


@strawberry.type(description="One item of a page with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to continue after this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list (Relay cursor connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="How to fetch the next page.")
    total_count: int = strawberry.field(description="Items in the whole list, over all pages.")

    @classmethod
    def build(cls, nodes: list[T], cursors: Sequence[str], has_next_page: bool, total_count: int) -> Connection[T]:
        return cls(
            edges=[Edge(cursor=c, node=n) for n, c in zip(nodes, cursors, strict=True)],
            page_info=PageInfo.of(cursors, has_next_page),
            total_count=total_count,
        )


def input_id(global_id: str, expected: str, field: str) -> uuid.UUID:
    """`decode_id` for mutation inputs: a malformed ID is a `UserError` in the payload, as the contract asks."""
    try:
        return from_global_id(global_id, expected)[1]
    except GraphQLError as exc:
        raise ServiceError(ErrorCode.INVALID, exc.message, field) from None
