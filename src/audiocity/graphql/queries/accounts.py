"""The viewer, and `node(id:)` / `nodes(ids:)` over every `Node` type."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.nodes import node_fetcher, resolve_node, resolve_nodes
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import Node, decode_id
from audiocity.graphql.types.user import User
from audiocity.services.accounts import get_user


@node_fetcher("User")
async def _user(info: Info[Context, None], id: strawberry.ID) -> User | None:
    """The viewer sees themself; anyone else is for admins."""
    viewer = await require_user(info)
    if User.from_model(viewer).id == id:
        return User.from_model(viewer)
    await require_admin(info)
    async with info.context.resources.sessions() as s:
        user = await get_user(s, decode_id(id, "User"))
    return User.from_model(user) if user else None


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in viewer.")
    async def me(self, info: Info[Context, None]) -> User:
        return User.from_model(await require_user(info))

    @strawberry.field(description="Fetch any object by its global ID.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description="Fetch objects by their global IDs, in order: null where an object is not found "
        "or not visible to the viewer (at most 100 IDs)."
    )
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        return await resolve_nodes(info, ids)
