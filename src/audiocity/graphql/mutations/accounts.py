"""Sign-up, sign-in, token rotation and roles."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError
from audiocity.graphql.mutation import run
from audiocity.graphql.mutations.commerce import merge_guest_cart
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.common import Role
from audiocity.graphql.types.user import User
from audiocity.models import Role as RoleModel
from audiocity.services import accounts
from audiocity.services.accounts import SignedIn


@strawberry.input
class RegisterInput:
    email: str
    password: str
    display_name: str | None = None


@strawberry.type
class AuthPayload:
    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def signed_in(cls, result: SignedIn) -> AuthPayload:
        return cls(
            user=User.from_model(result.user),
            access_token=result.access_token,
            refresh_token=result.refresh_token,
        )


@strawberry.type
class LogoutPayload:
    ok: bool
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetUserRolePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create a customer account and sign in.")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthPayload:
        ctx = info.context

        async def work(s: AsyncSession) -> AuthPayload:
            result = await accounts.register(s, input.email, input.password, input.display_name, ctx.resources.tokens)
            await merge_guest_cart(ctx, s, result.user.id)  # X-Cart-Token: the guest cart joins
            return AuthPayload.signed_in(result)

        return await run(ctx, AuthPayload, work)

    @strawberry.mutation
    async def login(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        ctx = info.context

        async def work(s: AsyncSession) -> AuthPayload:
            result = await accounts.login(s, email, password, ctx.resources.tokens)
            await merge_guest_cart(ctx, s, result.user.id)  # X-Cart-Token: the guest cart joins
            return AuthPayload.signed_in(result)

        return await run(ctx, AuthPayload, work)

    @strawberry.mutation(description="Trade a refresh token for a new pair; the old one stops working.")
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> AuthPayload:
        ctx = info.context

        async def work(s: AsyncSession) -> AuthPayload:
            return AuthPayload.signed_in(await accounts.refresh(s, refresh_token, ctx.resources.tokens))

        return await run(ctx, AuthPayload, work)

    @strawberry.mutation(description="Revoke a refresh token. Access tokens expire on their own.")
    async def logout(self, info: Info[Context, None], refresh_token: str) -> LogoutPayload:
        async with info.context.session() as s:
            await accounts.logout(s, refresh_token)
        return LogoutPayload(ok=True)

    @strawberry.mutation(description="Make a user an admin or a customer (admin).")
    async def set_user_role(
        self,
        info: Info[Context, None],
        user_id: strawberry.ID,
        role: Role,  # type: ignore[valid-type]
    ) -> SetUserRolePayload:
        await require_admin(info)

        async def work(s: AsyncSession) -> SetUserRolePayload:
            user = await accounts.set_role(s, input_id(user_id, "User", "userId"), RoleModel(role))
            return SetUserRolePayload(user=User.from_model(user))

        return await run(info.context, SetUserRolePayload, work)
