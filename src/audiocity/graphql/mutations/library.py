"""Listening progress, and admin grants of ownership without an order."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.library import ListeningProgress
from audiocity.services import library, progress


@strawberry.type
class SaveProgressPayload:
    progress: ListeningProgress | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class GrantAudiobookPayload:
    audiobook: Audiobook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LibraryMutations:
    @strawberry.mutation(
        description="Remember where the viewer is in an owned book, in seconds from the start of the first file."
    )
    async def save_progress(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, position_seconds: float
    ) -> SaveProgressPayload:
        user = await require_user(info)

        async def work(s: AsyncSession) -> SaveProgressPayload:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            saved, files = await progress.save_progress(
                s, user_id=user.id, audiobook_id=book_id, position_seconds=position_seconds
            )
            return SaveProgressPayload(progress=ListeningProgress.from_model(progress.locate(saved, files)))

        return await run(info.context, SaveProgressPayload, work)

    @strawberry.mutation(description="Give a user an audiobook without an order (admins); idempotent.")
    async def grant_audiobook(
        self, info: Info[Context, None], user_id: strawberry.ID, audiobook_id: strawberry.ID
    ) -> GrantAudiobookPayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> GrantAudiobookPayload:
            uid = input_id(user_id, "User", "userId")
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            book = await library.grant_audiobook(s, uid, book_id)
            return GrantAudiobookPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, GrantAudiobookPayload, work)
