"""Admin metadata mutations: cover uploads and the categories."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook, Category
from audiocity.services import catalog, categories, covers
from audiocity.services.covers import CoverLimits
from audiocity.services.errors import ErrorCode

READ_BLOCK = 256 * 1024


@strawberry.type(description="The result of `uploadCover`.")
class UploadCoverPayload:
    audiobook: Audiobook | None = strawberry.field(default=None, description="The audiobook with its new cover.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="Display name, unique regardless of case.")
    slug: str | None = strawberry.field(
        default=None, description="URL-safe name; made from the name when not given. Unique."
    )


@strawberry.type(description="The category after the change.")
class CategoryPayload:
    category: Category | None = strawberry.field(default=None, description="The category; null on errors.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type(description="The result of `deleteCategory`.")
class DeleteCategoryPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The ID that was deleted.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


def _too_large(limit: int) -> UserError:
    return UserError(code=ErrorCode.FILE_TOO_LARGE, field="file", message=f"Cover images are limited to {limit} bytes.")


async def _read_capped(file: UploadFile, limit: int) -> bytes | None:
    """The whole file, or None as soon as it proves longer than `limit`."""
    data = bytearray()
    while block := await file.read(READ_BLOCK):
        data += block
        if len(data) > limit:
            return None
    return bytes(data)


@strawberry.type
class MetadataMutations:
    @strawberry.mutation(
        description="Upload an audiobook's cover inline (multipart; PNG, JPEG or WebP) (admin). It is checked, "
        "re-encoded with thumbnails, and replaces the previous cover."
    )
    async def upload_cover(
        self,
        info: Info[Context, None],
        audiobook_id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook to give the cover.")],
        file: Annotated[Upload, strawberry.argument(description="The image, as a multipart part.")],
    ) -> UploadCoverPayload:
        await require_admin(info)
        res = info.context.resources
        limits = CoverLimits.from_settings(res.settings)
        if not isinstance(file, UploadFile):
            return UploadCoverPayload(
                errors=[UserError(code=ErrorCode.INVALID, field="file", message="Send the image as multipart.")]
            )
        if file.size is not None and file.size > limits.max_bytes:
            return UploadCoverPayload(errors=[_too_large(limits.max_bytes)])
        data = await _read_capped(file, limits.max_bytes)
        if data is None:
            return UploadCoverPayload(errors=[_too_large(limits.max_bytes)])

        async def work(s: AsyncSession) -> UploadCoverPayload:
            book = await catalog.get_audiobook(
                s, input_id(audiobook_id, "Audiobook", "audiobookId"), include_drafts=True
            )
            book = await covers.store_cover(s, res.storage, book, data, limits)
            return UploadCoverPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, UploadCoverPayload, work)

    @strawberry.mutation(description="Create a category (admin).")
    async def create_category(
        self,
        info: Info[Context, None],
        input: Annotated[CreateCategoryInput, strawberry.argument(description="The new category's name.")],
    ) -> CategoryPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> CategoryPayload:
            created = await categories.create_category(s, input.name, input.slug)
            return CategoryPayload(category=Category.from_model(created))

        return await run(info.context, CategoryPayload, work)

    @strawberry.mutation(description="Rename a category (admin); its slug follows the new name.")
    async def rename_category(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The category to rename.")],
        name: Annotated[str, strawberry.argument(description="The new name, unique regardless of case.")],
    ) -> CategoryPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> CategoryPayload:
            renamed = await categories.rename_category(s, input_id(id, "Category", "id"), name)
            return CategoryPayload(category=Category.from_model(renamed))

        return await run(info.context, CategoryPayload, work)

    @strawberry.mutation(description="Delete a category (admin); its audiobooks stay, shelved elsewhere or nowhere.")
    async def delete_category(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The category to delete.")],
    ) -> DeleteCategoryPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> DeleteCategoryPayload:
            await categories.delete_category(s, input_id(id, "Category", "id"))
            return DeleteCategoryPayload(deleted_id=id)

        return await run(info.context, DeleteCategoryPayload, work)
