"""How failures reach clients: `UserError`s in payloads, coded top-level errors for auth."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from audiocity.ratelimit import RateLimited
from audiocity.services.errors import ErrorCode as ServiceErrorCode
from audiocity.services.errors import ServiceError

UserErrorCode = strawberry.enum(ServiceErrorCode, name="UserErrorCode", description="Why an input was refused.")

# Top-level errors carrying these codes are meant for clients and are never masked.
PUBLIC_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAVAILABLE",
    "SUBSCRIBER_TOO_SLOW",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
    "MAX_COST_EXCEEDED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
}


@strawberry.type(description="A problem with the input of a mutation; `field` names the input at fault.")
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    field: str | None
    message: str
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="With `RATE_LIMITED`: seconds until the call may be tried again."
    )


def user_error(exc: ServiceError) -> UserError:
    return UserError(code=exc.code, field=exc.field, message=exc.message)


def unauthenticated(message: str = "Sign in to do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def forbidden(message: str = "You are not allowed to do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def rate_limited(retry_after: int) -> GraphQLError:
    """The whole request is refused; HTTP answers 429 with `Retry-After` as well."""
    return GraphQLError(
        f"Too many requests; retry in {retry_after} s.",
        extensions={"code": "RATE_LIMITED", "retryAfter": retry_after},
    )


def throttled(exc: RateLimited, field: str | None = None) -> UserError:
    """A throttled mutation: a `RATE_LIMITED` UserError saying when to retry."""
    return UserError(
        code=ServiceErrorCode.RATE_LIMITED,
        field=field,
        message=f"Too many attempts; retry in {exc.retry_after} s.",
        retry_after_seconds=exc.retry_after,
    )
