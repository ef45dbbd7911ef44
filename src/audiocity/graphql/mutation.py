"""The one way a mutation calls services: one unit of work, a `ServiceError` becomes the payload's `errors`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, user_error
from audiocity.services.errors import ServiceError

P = TypeVar("P")


async def run(ctx: Context, failed: Callable[..., P], work: Callable[[AsyncSession], Awaitable[P]]) -> P:
    """`work(session)` in one transaction (committed if it returns); on a `ServiceError` nothing is
    kept and the result is `failed(errors=[...])`, the payload type carrying the refusal."""
    try:
        async with ctx.session() as session:
            return await work(session)
    except ServiceError as exc:
        errors: list[UserError] = [user_error(exc)]
        return failed(errors=errors)
