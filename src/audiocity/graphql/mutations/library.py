"""Listening progress, and admin grants of ownership without an order."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError, user_error
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.library import ListeningProgress
from audiocity.services import library
from audiocity.services.errors import ServiceError


@strawberry.type(description="The result of `saveProgress`.")
class SaveProgressPayload:
    progress: ListeningProgress | None = strawberry.field(default=None, description="The saved position.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type(description="The result of `grantAudiobook`.")
class GrantAudiobookPayload:
    audiobook: Audiobook | None = strawberry.field(default=None, description="The audiobook granted.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class LibraryMutations:
    @strawberry.mutation(
        description="Remember where the viewer is in an owned book, in seconds from the start of the first file."
    )
    async def save_progress(
        self,
        info: Info[Context, None],
        audiobook_id: Annotated[strawberry.ID, strawberry.argument(description="An audiobook the viewer owns.")],
        position_seconds: Annotated[
            float, strawberry.argument(description="Seconds from the start of the first file.")
        ],
    ) -> SaveProgressPayload:
        user = await require_user(info)
        try:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            async with info.context.session() as s:
                saved, files = await library.save_progress(
                    s, user_id=user.id, audiobook_id=book_id, position_seconds=position_seconds
                )
        except ServiceError as exc:
            return SaveProgressPayload(errors=[user_error(exc)])
        return SaveProgressPayload(progress=ListeningProgress.from_model(library.locate(saved, files)))

    @strawberry.mutation(description="Give a user an audiobook without an order (admins); idempotent.")
    async def grant_audiobook(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="Who gets the audiobook.")],
        audiobook_id: Annotated[strawberry.ID, strawberry.argument(description="The audiobook given.")],
    ) -> GrantAudiobookPayload:
        await require_admin(info)
        try:
            uid = input_id(user_id, "User", "userId")
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            async with info.context.session() as s:
                book = await library.grant_audiobook(s, uid, book_id)
        except ServiceError as exc:
            return GrantAudiobookPayload(errors=[user_error(exc)])
        return GrantAudiobookPayload(audiobook=Audiobook.from_model(book))
