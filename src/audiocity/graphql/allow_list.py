"""Allow-list mode: with `ALLOWED_OPERATIONS_ONLY`, only operations registered ahead of time run.

`audiocity operations register client/operations/*.graphql` stores each operation as a persisted
query in Redis under the sha256 of its canonical form: the operation printed by graphql-core plus
the fragments it uses, sorted by name. Matching on that form (not on raw text) lets a client send the
document with other whitespace, comments or extra operations; with automatic persisted queries the
document is resolved from its hash first, and the same check then applies. The hash format is the
persisted-query store's (graphql/apq.py: sha256 hex of the document), and registering also puts each
canonical document into that store, without expiry, so a frontend can send a registered operation as
its hash alone. Anything else is refused
before execution with `extensions.code` `OPERATION_NOT_ALLOWED`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import redis.asyncio as aioredis
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from audiocity.graphql import apq

DOCUMENTS_KEY = "audiocity:operations"  # hash: sha256 -> canonical document
NOT_ALLOWED = "OPERATION_NOT_ALLOWED"


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def _used_fragments(node: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    seen: set[str] = set()
    todo = [node]
    while todo:
        spreads = _Spreads()
        visit(todo.pop(), spreads)
        for name in spreads.names - seen:
            seen.add(name)
            if name in fragments:
                todo.append(fragments[name])  # type: ignore[arg-type]
    return sorted(seen)


def canonical(document: DocumentNode, operation_name: str | None = None) -> str | None:
    """The selected operation and its fragments, printed; None when no single operation is selected."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    used = [fragments[n] for n in _used_fragments(operations[0], fragments) if n in fragments]
    return "\n\n".join(print_ast(node) for node in [operations[0], *used])


sha256_hex = apq.sha256_hex  # one hash format for registered and persisted queries


def operations_in(sources: Iterable[str]) -> dict[str, str]:
    """Operation name -> canonical document, for files that may share fragments."""
    document = parse("\n".join(sources))
    found: dict[str, str] = {}
    for node in document.definitions:
        if isinstance(node, OperationDefinitionNode):
            if node.name is None:
                raise ValueError("Registered operations need names.")
            text = canonical(document, node.name.value)
            assert text is not None
            found[node.name.value] = text
    return found


class RegisteredOperations:
    """The registered documents, shared by every API process through Redis (kept without expiry)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def register(self, documents: dict[str, str]) -> dict[str, str]:
        """Store canonical documents; returns operation name -> sha256."""
        hashes = {name: sha256_hex(text) for name, text in documents.items()}
        if documents:
            await self.redis.hset(DOCUMENTS_KEY, mapping={hashes[n]: t for n, t in documents.items()})  # type: ignore[misc]
            # The persisted-query store knows them too (no expiry: they stay registered).
            await self.redis.mset({apq.PREFIX + hashes[n]: t for n, t in documents.items()})
        return hashes

    async def document(self, digest: str) -> str | None:
        raw = await self.redis.hget(DOCUMENTS_KEY, digest)  # type: ignore[misc]
        return raw.decode() if isinstance(raw, bytes) else raw

    async def allows(self, document: DocumentNode, operation_name: str | None) -> bool:
        text = canonical(document, operation_name)
        return text is not None and bool(await self.redis.hexists(DOCUMENTS_KEY, sha256_hex(text)))  # type: ignore[misc]


class AllowList(SchemaExtension):
    """Refuse, before validation, any operation not registered (only in allow-list mode)."""

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        ctx = self.execution_context
        resources = ctx.context.resources
        if resources.settings.allowed_operations_only and ctx.graphql_document is not None:
            store = RegisteredOperations(resources.bus.client)  # the API container's Redis connection
            if not await store.allows(ctx.graphql_document, ctx.operation_name):
                ctx.pre_execution_errors = [
                    GraphQLError(
                        "This server runs only registered operations; this document is not one of them.",
                        extensions={"code": NOT_ALLOWED},
                    )
                ]
        yield
