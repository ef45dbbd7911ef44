"""Who may call what: raise coded top-level errors, as the contract asks."""

from __future__ import annotations

from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import forbidden, unauthenticated
from audiocity.models import Role, User


async def require_user(info: Info[Context, None]) -> User:
    ctx = info.context
    user = await ctx.viewer()
    if user is None:
        raise unauthenticated(ctx.token_error or "Sign in to do this.")
    return user


async def require_admin(info: Info[Context, None]) -> User:
    user = await require_user(info)
    if user.role != Role.ADMIN:
        raise forbidden("Only admins can do this.")
    return user


async def optional_user(info: Info[Context, None]) -> User | None:
    """Anonymous is fine, but a presented token that is bad is an error, not silent anonymity."""
    ctx = info.context
    user = await ctx.viewer()
    if user is None and ctx.token_error:
        raise unauthenticated(ctx.token_error)
    return user
