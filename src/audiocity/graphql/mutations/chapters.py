"""Admin mutations for a book's chapters and its preview clip."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.db import after_commit
from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.mutations.catalog import AudiobookPayload
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.services import catalog, previews
from audiocity.services import chapters as chapter_service


@strawberry.input(description="One chapter of the list `updateChapters` sets.")
class ChapterInput:
    title: str = strawberry.field(description="The chapter's title, 1 to 300 characters.")
    start_seconds: float = strawberry.field(
        description="Where it starts, in seconds from the start of the book; the first chapter starts at 0 and "
        "each one after the one before, inside the audio."
    )


@strawberry.type(description="The result of `updateChapters`.")
class UpdateChaptersPayload:
    audiobook: Audiobook | None = strawberry.field(
        default=None, description="The audiobook with its new chapters; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class ChapterMutations:
    @strawberry.mutation(
        description="Replace an audiobook's chapters (admin). Edited chapters are kept when the book is "
        "transcribed again; an empty list drops the edit, so the next transcription detects chapters again."
    )
    async def update_chapters(
        self,
        info: Info[Context, None],
        audiobook_id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook to change.")],
        chapters: Annotated[
            list[ChapterInput], strawberry.argument(description="The whole list, in order; the first starts at 0.")
        ],
    ) -> UpdateChaptersPayload:
        await require_admin(info)
        storage = info.context.resources.storage
        wanted = [(c.title, c.start_seconds) for c in chapters]

        async def work(s: AsyncSession) -> UpdateChaptersPayload:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            vtt = await chapter_service.replace_chapters(s, book_id, wanted)

            async def write_vtt() -> None:  # the object follows the committed row
                await chapter_service.store_vtt(storage, book_id, vtt)

            after_commit(s, write_vtt)
            book = await catalog.get_audiobook(s, book_id, include_drafts=True)
            return UpdateChaptersPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, UpdateChaptersPayload, work)

    @strawberry.mutation(
        description="Choose the range of an audiobook's free preview clip (admin); leave both unset for the "
        "first PREVIEW_SECONDS. A published book's clip is cut again in the background."
    )
    async def set_preview(
        self,
        info: Info[Context, None],
        audiobook_id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook.")],
        start_seconds: Annotated[
            float | None, strawberry.argument(description="Where the clip starts in the book; unset: at 0.")
        ] = None,
        duration_seconds: Annotated[
            float | None,
            strawberry.argument(description="How long it lasts, 1 to 600 seconds; unset: PREVIEW_SECONDS."),
        ] = None,
    ) -> AudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> AudiobookPayload:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            book = await previews.set_preview(s, book_id, start_seconds, duration_seconds)
            return AudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudiobookPayload, work)
