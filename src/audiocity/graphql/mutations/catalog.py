"""Admin catalog mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.db import after_commit
from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.common import CurrencyCode
from audiocity.services import catalog
from audiocity.services.catalog import AudiobookInput as AudiobookData


@strawberry.input(description="Unset fields are left unchanged by `updateAudiobook`.")
class AudiobookInput:
    title: str | None = strawberry.field(default=strawberry.UNSET, description="The title; required on create.")
    subtitle: str | None = strawberry.field(default=strawberry.UNSET, description="The subtitle.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="The publisher's description.")
    authors: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Authors, in credit order.")
    narrators: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Narrators, in credit order.")
    categories: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Category names; missing ones are created."
    )
    language: str | None = strawberry.field(default=strawberry.UNSET, description="BCP 47 language tag, e.g. `en`.")
    price_cents: int | None = strawberry.field(default=strawberry.UNSET, description="Price in minor units.")
    currency: CurrencyCode | None = strawberry.field(default=strawberry.UNSET, description="Currency of the price.")
    cover_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="An external cover image URL; an uploaded cover (`uploadCover`) wins."
    )
    series: str | None = strawberry.field(
        default=strawberry.UNSET, description="The series' name (created if new); an empty string removes it."
    )
    series_position: float | None = strawberry.field(
        default=strawberry.UNSET, description="Its place in the series, e.g. 1 or 2.5."
    )
    published_year: int | None = strawberry.field(
        default=strawberry.UNSET, description="The year the book was first published."
    )
    publisher: str | None = strawberry.field(
        default=strawberry.UNSET, description="The publisher; an empty string clears it."
    )
    isbn: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="ISBN-10 or ISBN-13, hyphens allowed; checked and stored as ISBN-13. An empty string clears it.",
    )

    def to_data(self) -> AudiobookData:
        values = {k: (None if v is strawberry.UNSET else v) for k, v in vars(self).items()}
        return AudiobookData(**values)


@strawberry.type(description="The audiobook after the change.")
class AudiobookPayload:
    audiobook: Audiobook | None = strawberry.field(default=None, description="The audiobook; null on errors.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type(description="The result of `deleteAudiobook`.")
class DeleteAudiobookPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID that was deleted.")
    soft_deleted: bool = strawberry.field(
        default=False,
        description="True when someone owns the audiobook: it left the catalog but stays in its owners' "
        "libraries; false when it was removed with its files.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Create a draft audiobook (admin).")
    async def create_audiobook(
        self,
        info: Info[Context, None],
        input: Annotated[
            AudiobookInput, strawberry.argument(description="The new audiobook's details; `title` is required.")
        ],
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            return AudiobookPayload(audiobook=Audiobook.from_model(await catalog.create_audiobook(s, input.to_data())))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(description="Change an audiobook's details (admin).")
    async def update_audiobook(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook to change.")],
        input: Annotated[AudiobookInput, strawberry.argument(description="Only the fields set are changed.")],
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            book = await catalog.update_audiobook(s, input_id(id, "Audiobook", "id"), input.to_data())
            return AudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(description="Show or hide an audiobook in the catalog (admin).")
    async def publish_audiobook(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook to show or hide.")],
        published: Annotated[
            bool, strawberry.argument(description="True to show it in the catalog, false to hide it.")
        ] = True,
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            book = await catalog.publish_audiobook(s, input_id(id, "Audiobook", "id"), published)
            return AudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudiobookPayload, work)

    @strawberry.mutation(
        description="Delete an audiobook (admin): one that anyone owns or ordered leaves the catalog but stays "
        "in its owners' libraries; any other is removed with its files."
    )
    async def delete_audiobook(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook to delete.")],
    ) -> DeleteAudiobookPayload:
        await require_admin(info)
        storage = info.context.resources.storage

        async def work(s: AsyncSession) -> DeleteAudiobookPayload:
            deletion = await catalog.delete_audiobook(s, input_id(id, "Audiobook", "id"))

            async def delete_files() -> None:  # once the rows are gone for good
                for key in deletion.storage_keys:
                    await storage.delete(key)

            after_commit(s, delete_files)
            return DeleteAudiobookPayload(deleted_id=id, soft_deleted=deletion.soft)

        return await run(info.context, DeleteAudiobookPayload, work)
