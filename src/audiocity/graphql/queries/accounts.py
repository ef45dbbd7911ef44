"""The viewer, and `node(id:)` over every type."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.queries.catalog import _audiobook
from audiocity.graphql.queries.commerce import _order
from audiocity.graphql.queries.jobs import _job
from audiocity.graphql.relay import Node, decode_id, from_global_id
from audiocity.graphql.types.audiobook import AudioFile, Category
from audiocity.graphql.types.user import User
from audiocity.models import AudioFile as AudioFileModel
from audiocity.models import Category as CategoryModel
from audiocity.services import catalog
from audiocity.services.accounts import get_user
from audiocity.services.errors import NotFound


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in viewer.")
    async def me(self, info: Info[Context, None]) -> User:
        return User.from_model(await require_user(info))

    @strawberry.field(description="Fetch any object by its global ID.")
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID from any object's `id`.")],
    ) -> Node | None:
        type_name, _ = from_global_id(id)
        if type_name == "Audiobook":
            return await _audiobook(info, id)
        if type_name == "Job":
            return await _job(info, id)
        if type_name == "Order":
            return await _order(info, id)
        if type_name == "User":
            viewer = await require_user(info)
            if User.from_model(viewer).id == id:
                return User.from_model(viewer)
            await require_admin(info)
            async with info.context.resources.sessions() as s:
                user = await get_user(s, decode_id(id, "User"))
            return User.from_model(user) if user else None
        if type_name == "AudioFile":
            admin = await info.context.is_admin()
            async with info.context.resources.sessions() as s:
                f = await s.get(AudioFileModel, decode_id(id, "AudioFile"))
                if f is None:
                    return None
                try:
                    await catalog.get_audiobook(s, f.audiobook_id, include_drafts=admin)
                except NotFound:
                    return None
            return AudioFile.from_model(f)
        if type_name == "Category":
            async with info.context.resources.sessions() as s:
                category = await s.get(CategoryModel, decode_id(id, "Category"))
            return Category.from_model(category) if category else None
        return None
