"""Password reset by email, and changing a password while signed in."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError, user_error
from audiocity.graphql.mutations.accounts import AuthPayload
from audiocity.graphql.permissions import require_user
from audiocity.services import accounts, notices
from audiocity.services.errors import ServiceError

RESET_ANSWER = "If an account uses this address, a link to choose a new password is on its way."


@strawberry.type(description="The result of `requestPasswordReset`.")
class RequestPasswordResetPayload:
    ok: bool = strawberry.field(description="True when the request was accepted (whether or not the account exists).")
    message: str = strawberry.field(description="What happens next, for people.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class PasswordMutations:
    @strawberry.mutation(
        description="Email a single-use reset link. The answer is the same whether or not the address has an account."
    )
    async def request_password_reset(
        self, info: Info[Context, None], email: Annotated[str, strawberry.argument(description="The account's email.")]
    ) -> RequestPasswordResetPayload:
        try:
            notices.request_password_reset(email)  # the lookup happens in a worker: same answer, same time
        except ServiceError as exc:  # a malformed address says nothing about accounts
            return RequestPasswordResetPayload(ok=False, message=exc.message, errors=[user_error(exc)])
        return RequestPasswordResetPayload(ok=True, message=RESET_ANSWER)

    @strawberry.mutation(
        description="Set a new password with the token from a reset email; every other session is signed out."
    )
    async def reset_password(
        self,
        info: Info[Context, None],
        token: Annotated[str, strawberry.argument(description="The token from the reset link.")],
        new_password: Annotated[str, strawberry.argument(description="The new password.")],
    ) -> AuthPayload:
        ctx = info.context
        try:
            async with ctx.session() as s:
                result = await accounts.reset_password(s, token, new_password, ctx.resources.tokens)
        except ServiceError as exc:
            return AuthPayload(errors=[user_error(exc)])
        return AuthPayload.signed_in(result)

    @strawberry.mutation(
        description="Change the viewer's password; every session is signed out and this client gets new tokens."
    )
    async def change_password(
        self,
        info: Info[Context, None],
        current_password: Annotated[str, strawberry.argument(description="The password in use now.")],
        new_password: Annotated[str, strawberry.argument(description="The new password.")],
    ) -> AuthPayload:
        viewer = await require_user(info)
        ctx = info.context
        try:
            async with ctx.session() as s:
                result = await accounts.change_password(
                    s, viewer.id, current_password, new_password, ctx.resources.tokens
                )
        except ServiceError as exc:
            return AuthPayload(errors=[user_error(exc)])
        return AuthPayload.signed_in(result)
