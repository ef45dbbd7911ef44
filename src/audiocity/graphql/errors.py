"""How failures reach clients: `UserError`s in payloads, coded top-level errors for auth."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError

from audiocity.ratelimit import RateLimited
from audiocity.services.errors import ErrorCode as ServiceErrorCode
from audiocity.services.errors import ServiceError

UserErrorCode = strawberry.enum(ServiceErrorCode, name="UserErrorCode", description="Why an input was refused.")

_CODE_DESCRIPTIONS = {
    "INVALID": "The input breaks a rule; `message` says which.",
    "NOT_FOUND": "Nothing has that ID (or the viewer may not see it).",
    "EMAIL_TAKEN": "An account with that email exists.",
    "INVALID_CREDENTIALS": "Wrong email or password.",
    "WEAK_PASSWORD": "The password is too short or too common.",
    "INVALID_TOKEN": "The token is malformed, expired or revoked.",
    "TOKEN_REUSED": "A refresh token was used twice; its whole family is revoked, so sign in again.",
    "EMAIL_NOT_VERIFIED": "The sign-in provider has not verified the email address.",
    "IDENTITY_CONFLICT": "The email's account is linked to another external identity.",
    "SIGN_IN_UNAVAILABLE": "That way of signing in is not configured.",
    "NO_PASSWORD": "The account has no password (it signs in with Google).",
    "NOT_AUDIO": "The file is not audio that can be decoded.",
    "FILE_TOO_LARGE": "The file exceeds the size limit.",
    "UNSUPPORTED_FORMAT": "The file's format (audio container or codec, image type) is not accepted.",
    "TOO_MANY_FILES": "The audiobook has the most files allowed.",
    "SIZE_MISMATCH": "The stored object's size differs from the announced size.",
    "CHECKSUM_MISMATCH": "The stored object's checksum differs from the announced one.",
    "UPLOAD_INCOMPLETE": "Not all bytes have arrived yet; resume the upload.",
    "UPLOAD_EXPIRED": "The upload session expired; start again.",
    "UPLOAD_CLOSED": "The upload was already completed or cancelled.",
    "UPLOAD_NOT_OWNED": "The upload was started by someone else.",
    "EMPTY_CART": "There is nothing for sale in the cart.",
    "ALREADY_IN_CART": "The audiobook is in the cart already.",
    "ALREADY_OWNED": "The viewer owns the audiobook already.",
    "NOT_PUBLISHED": "The audiobook is not for sale.",
    "UNSUPPORTED_PROVIDER": "That payment provider is not enabled.",
    "PAYMENT_PROVIDER_ERROR": "The payment provider refused or failed; try again later.",
    "NOT_REFUNDABLE": "Only paid orders can be refunded.",
    "JOB_RUNNING": "A job for the audiobook is already queued or running.",
    "NO_AUDIO_FILES": "The audiobook has no audio to transcribe.",
    "NOT_OWNED": "The viewer does not own the audiobook.",
    "RATE_LIMITED": "Too many attempts; wait `retryAfterSeconds` and try again.",
    "LAST_ADMIN": "The store must keep at least one admin.",
    "CONFIRMATION_REQUIRED": "The change needs an explicit confirmation in the input.",
    "HAS_ORDERS": "The audiobook has orders and cannot be deleted; unpublish it instead.",
    "TOO_LONG": "A text input exceeds its length limit.",
    "DUPLICATE": "Something else already has that name (or slug).",
}
for _value in UserErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = _CODE_DESCRIPTIONS.get(_value.name)

ERRORS = "Why the input was refused; empty on success."

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
    code: UserErrorCode = strawberry.field(description="What went wrong, for programs.")  # type: ignore[valid-type]
    field: str | None = strawberry.field(description="The input at fault, e.g. `email`; null for the whole input.")
    message: str = strawberry.field(description="What went wrong, for people.")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="With `RATE_LIMITED`: seconds until the call may be tried again."
    )


def user_error(exc: ServiceError) -> UserError:
    return UserError(code=exc.code, field=exc.field, message=exc.message)


REQUEST_ID = "requestId"


def with_request_id(errors: Iterable[Any] | None, request_id: str | None) -> None:
    """Put the request id (the `X-Request-ID` header's value) into each formatted error's `extensions`.

    The one place that writes the key: a client's report quoting it leads to the request's log lines.
    Strawberry's HTTP answers (`app.py`), the front's own answers and socket messages all call it.
    """
    if not request_id:
        return
    for error in errors or ():
        if isinstance(error, dict):
            extensions = error.get("extensions")
            error["extensions"] = {**(extensions if isinstance(extensions, dict) else {}), REQUEST_ID: request_id}


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
