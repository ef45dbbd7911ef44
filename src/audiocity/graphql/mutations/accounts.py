"""Sign-up, sign-in, token rotation and roles."""

from __future__ import annotations

import hashlib
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import ERRORS, UserError, throttled, user_error
from audiocity.graphql.mutation import run
from audiocity.graphql.mutations.commerce import merge_guest_cart
from audiocity.graphql.permissions import require_admin, require_user
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.common import Role
from audiocity.graphql.types.user import User
from audiocity.models import Role as RoleModel
from audiocity.ratelimit import RateLimited
from audiocity.services import accounts, notices
from audiocity.services.accounts import Registration, SignedIn
from audiocity.services.errors import ServiceError


def subject_for_email(email: str) -> str:
    """A bounded rate-limit key for an address as typed (case and spaces do not make new buckets)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def send_registration_email(registration: Registration) -> None:
    """A welcome for a new account; for a taken address, a note to its owner instead of an error.

    Both are one queued message built by a worker, so the answer takes the same time either way.
    """
    notices.announce_registration(registration.email, created=registration.user is not None)


@strawberry.input(description="A new customer account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="At least 8 characters.")
    display_name: str | None = strawberry.field(default=None, description="Shown to others; defaults from the email.")


@strawberry.type(
    description="The result of a sign-in: the user and a fresh token pair. `register` returns neither: "
    "sign in with `login` afterwards."
)
class AuthPayload:
    user: User | None = strawberry.field(default=None, description="The signed-in user.")
    access_token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <accessToken>`; short-lived."
    )
    refresh_token: str | None = strawberry.field(
        default=None, description="Trade it for a new pair with `refreshToken` when the access token expires."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)

    @classmethod
    def signed_in(cls, result: SignedIn) -> AuthPayload:
        return cls(
            user=User.from_model(result.user),
            access_token=result.access_token,
            refresh_token=result.refresh_token,
        )


@strawberry.type(description="The result of `logout`.")
class LogoutPayload:
    ok: bool = strawberry.field(description="Always true: an unknown token is as good as revoked.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.input(description="Changes to the viewer's own account; omitted fields stay as they are.")
class UpdateMeInput:
    display_name: str | None = strawberry.field(default=None, description="The new display name.")


@strawberry.type(description="The result of `updateMe`.")
class UpdateMePayload:
    user: User | None = strawberry.field(default=None, description="The updated viewer.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type(description="The result of `setUserRole`.")
class SetUserRolePayload:
    user: User | None = strawberry.field(default=None, description="The user with the new role.")
    errors: list[UserError] = strawberry.field(default_factory=list, description=ERRORS)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description=(
            "Create a customer account, then sign in with `login`. The answer is the same whether or not "
            "the email already has an account (its owner gets an email instead), so it cannot be used to "
            "find out who has one."
        )
    )
    async def register(
        self,
        info: Info[Context, None],
        input: Annotated[RegisterInput, strawberry.argument(description="The new account.")],
    ) -> AuthPayload:
        ctx = info.context
        try:
            await ctx.throttle(
                "register", (ctx.settings.rate_limit_register_per_client, f"client:{ctx.client_address()}")
            )
        except RateLimited as exc:
            return AuthPayload(errors=[throttled(exc)])

        done: list[Registration] = []

        async def work(s: AsyncSession) -> AuthPayload:
            done.append(await accounts.sign_up(s, input.email, input.password, input.display_name))
            return AuthPayload()

        payload = await run(ctx, AuthPayload, work)
        if done and not payload.errors:  # committed: now tell the address's owner
            send_registration_email(done[0])
        return payload

    @strawberry.mutation(description="Sign in. Throttled per account and per client address (`RATE_LIMITED`).")
    async def login(
        self,
        info: Info[Context, None],
        email: Annotated[str, strawberry.argument(description="The account's email (any case).")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> AuthPayload:
        ctx = info.context
        try:
            await ctx.throttle(
                "login",
                (ctx.settings.rate_limit_login_per_account, f"account:{subject_for_email(email)}"),
                (ctx.settings.rate_limit_login_per_client, f"client:{ctx.client_address()}"),
            )
        except RateLimited as exc:
            return AuthPayload(errors=[throttled(exc)])

        async def work(s: AsyncSession) -> AuthPayload:
            result = await accounts.login(s, email, password, ctx.resources.tokens)
            await merge_guest_cart(ctx, s, result.user.id)  # X-Cart-Token: the guest cart joins
            return AuthPayload.signed_in(result)

        return await run(ctx, AuthPayload, work)

    @strawberry.mutation(
        description="Trade a refresh token for a new pair; the old one stops working. Presenting a token "
        "that was already traded signs out its whole sign-in (`TOKEN_REUSED`)."
    )
    async def refresh_token(
        self,
        info: Info[Context, None],
        refresh_token: Annotated[
            str, strawberry.argument(description="The refresh token from the last sign-in or refresh.")
        ],
    ) -> AuthPayload:
        ctx = info.context
        async with ctx.session() as s:
            try:
                result = await accounts.refresh(s, refresh_token, ctx.resources.tokens)
            except ServiceError as exc:  # caught inside the unit of work: a reuse's revocation must commit
                return AuthPayload(errors=[user_error(exc)])
        return AuthPayload.signed_in(result)

    @strawberry.mutation(
        description="End the sign-in this refresh token belongs to (every rotation of it). "
        "Access tokens expire on their own."
    )
    async def logout(
        self,
        info: Info[Context, None],
        refresh_token: Annotated[str, strawberry.argument(description="The refresh token to revoke.")],
    ) -> LogoutPayload:
        async with info.context.session() as s:
            await accounts.logout(s, refresh_token)
        return LogoutPayload(ok=True)

    @strawberry.mutation(description="Revoke every refresh token of the viewer: all devices sign out.")
    async def logout_everywhere(self, info: Info[Context, None]) -> LogoutPayload:
        user = await require_user(info)
        async with info.context.session() as s:
            await accounts.revoke_all(s, user.id)
        return LogoutPayload(ok=True)

    @strawberry.mutation(description="Change the viewer's own profile.")
    async def update_me(
        self,
        info: Info[Context, None],
        input: Annotated[UpdateMeInput, strawberry.argument(description="The changes.")],
    ) -> UpdateMePayload:
        viewer = await require_user(info)
        try:
            async with info.context.session() as s:
                user = await accounts.update_profile(s, viewer.id, input.display_name)
        except ServiceError as exc:
            return UpdateMePayload(errors=[user_error(exc)])
        return UpdateMePayload(user=User.from_model(user))

    @strawberry.mutation(description="Make a user an admin or a customer (admin).")
    async def set_user_role(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The user to change.")],
        role: Annotated[Role, strawberry.argument(description="The new role.")],  # type: ignore[valid-type]
        confirm_self: Annotated[
            bool, strawberry.argument(description="Required to change your own role: you may lose admin rights.")
        ] = False,
    ) -> SetUserRolePayload:
        admin = await require_admin(info)

        async def work(s: AsyncSession) -> SetUserRolePayload:
            user = await accounts.set_role(
                s, input_id(user_id, "User", "userId"), RoleModel(role), acting_user_id=admin.id, confirm=confirm_self
            )
            return SetUserRolePayload(user=User.from_model(user))

        return await run(info.context, SetUserRolePayload, work)
