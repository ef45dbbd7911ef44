"""Admin catalog mutations."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.db import after_commit
from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.services import catalog
from audiocity.services.catalog import AudiobookInput as AudiobookData


@strawberry.input(description="Unset fields are left unchanged by `updateAudiobook`.")
class AudiobookInput:
    title: str | None = strawberry.UNSET
    subtitle: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    authors: list[str] | None = strawberry.UNSET
    narrators: list[str] | None = strawberry.UNSET
    categories: list[str] | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    price_cents: int | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    cover_url: str | None = strawberry.UNSET

    def to_data(self) -> AudiobookData:
        values = {k: (None if v is strawberry.UNSET else v) for k, v in vars(self).items()}
        return AudiobookData(**values)


@strawberry.type
class AudiobookPayload:
    audiobook: Audiobook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteAudiobookPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Create a draft audiobook (admin).")
    async def create_audiobook(self, info: Info[Context, None], input: AudiobookInput) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            return AudiobookPayload(audiobook=Audiobook.from_model(await catalog.create_audiobook(s, input.to_data())))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(description="Change an audiobook's details (admin).")
    async def update_audiobook(
        self, info: Info[Context, None], id: strawberry.ID, input: AudiobookInput
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            book = await catalog.update_audiobook(s, input_id(id, "Audiobook", "id"), input.to_data())
            return AudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(description="Show or hide an audiobook in the catalog (admin).")
    async def publish_audiobook(
        self, info: Info[Context, None], id: strawberry.ID, published: bool = True
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            book = await catalog.publish_audiobook(s, input_id(id, "Audiobook", "id"), published)
            return AudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(description="Delete an audiobook and its files (admin).")
    async def delete_audiobook(self, info: Info[Context, None], id: strawberry.ID) -> DeleteAudiobookPayload:
        await require_admin(info)
        storage = info.context.resources.storage

        async def work(s: AsyncSession) -> DeleteAudiobookPayload:
            keys = await catalog.delete_audiobook(s, input_id(id, "Audiobook", "id"))

            async def delete_files() -> None:  # once the rows are gone for good
                for key in keys:
                    await storage.delete(key)

            after_commit(s, delete_files)
            return DeleteAudiobookPayload(deleted_id=id)

        return await run(info.context, DeleteAudiobookPayload, work)
