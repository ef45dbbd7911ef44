"""How failures reach clients: `UserError`s in payloads, coded top-level errors for auth."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from audiocity.services.errors import ErrorCode as ServiceErrorCode
from audiocity.services.errors import ServiceError

UserErrorCode = strawberry.enum(ServiceErrorCode, name="UserErrorCode", description="Why an input was refused.")

# Top-level errors carrying these codes are meant for clients and are never masked.
PUBLIC_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "UNAVAILABLE", "SUBSCRIBER_TOO_SLOW"}


@strawberry.type(description="A problem with the input of a mutation; `field` names the input at fault.")
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    field: str | None
    message: str


def user_error(exc: ServiceError) -> UserError:
    return UserError(code=exc.code, field=exc.field, message=exc.message)


def unauthenticated(message: str = "Sign in to do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def forbidden(message: str = "You are not allowed to do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})
