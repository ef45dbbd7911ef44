"""Google (OIDC) sign-in: an ID token from Google Identity Services, or the redirect flow's one-time code."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from audiocity.auth.oidc import InvalidIdToken, ProviderUnavailable
from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, user_error
from audiocity.graphql.mutations.accounts import AuthPayload
from audiocity.graphql.mutations.commerce import merge_guest_cart
from audiocity.services import accounts
from audiocity.services.errors import ErrorCode, ServiceError


def _error(code: ErrorCode, message: str, field: str | None = None) -> AuthPayload:
    return AuthPayload(errors=[UserError(code=code, field=field, message=message)])


@strawberry.type
class SignInMutations:
    @strawberry.mutation(
        description="Sign in (or sign up) with a Google ID token. An existing account with the same verified "
        "email is linked. Pass `nonce` when the token was requested with one."
    )
    async def sign_in_with_google(
        self,
        info: Info[Context, None],
        id_token: Annotated[str, strawberry.argument(description="The ID token Google's sign-in library returned.")],
        nonce: Annotated[
            str | None, strawberry.argument(description="The nonce the token was requested with, if any.")
        ] = None,
    ) -> AuthPayload:
        ctx = info.context
        provider = ctx.resources.oidc
        if provider is None:
            return _error(ErrorCode.SIGN_IN_UNAVAILABLE, "Google sign-in is not configured.")
        try:
            identity = await provider.verify_id_token(id_token, nonce=nonce)
        except InvalidIdToken as exc:
            return _error(ErrorCode.INVALID_TOKEN, str(exc), "idToken")
        except ProviderUnavailable:
            return _error(ErrorCode.SIGN_IN_UNAVAILABLE, "The sign-in provider cannot be reached; try again later.")
        try:
            async with ctx.session() as s:
                result = await accounts.sign_in_with_identity(s, identity, ctx.resources.tokens)
                await merge_guest_cart(ctx, s, result.user.id)
        except ServiceError as exc:
            return AuthPayload(errors=[user_error(exc)])
        return AuthPayload.signed_in(result)

    @strawberry.mutation(description="Finish the Google redirect flow: trade its one-time `code` for tokens.")
    async def exchange_sign_in_code(
        self,
        info: Info[Context, None],
        code: Annotated[
            str, strawberry.argument(description="The one-time code from the redirect to `SIGN_IN_REDIRECT_URL`.")
        ],
    ) -> AuthPayload:
        ctx = info.context
        try:
            async with ctx.session() as s:
                result = await accounts.exchange_sign_in_code(s, code, ctx.resources.tokens)
                await merge_guest_cart(ctx, s, result.user.id)
        except ServiceError as exc:
            return AuthPayload(errors=[user_error(exc)])
        return AuthPayload.signed_in(result)
