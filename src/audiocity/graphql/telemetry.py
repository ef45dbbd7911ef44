"""Operation metrics and log fields for every GraphQL operation, as one schema extension.

It binds the operation name and the user id to the request's log context, counts operations by
name and type, times them, counts errors by code and the errors raised inside resolvers. It sits
after `MaskErrors` in the extension list, so it sees the codes of errors before they are masked.
Active subscriptions are counted by the socket handlers (graphql/sockets.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from audiocity import logs
from audiocity.auth.tokens import InvalidToken, decode_access_token
from audiocity.metrics import (
    GRAPHQL_ERRORS,
    GRAPHQL_LATENCY,
    GRAPHQL_OPERATIONS,
    RESOLVER_ERRORS,
    operation_label,
)


def error_code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return "INTERNAL_SERVER_ERROR" if error.original_error is not None else "GRAPHQL_VALIDATION_FAILED"


def _user_id(context: Any) -> str | None:
    """From the access token alone (no database): a log field, not an authorisation."""
    bearer = getattr(context, "bearer_token", None)
    resources = getattr(context, "resources", None)
    token = bearer() if callable(bearer) else None
    if not token or resources is None:
        return None
    try:
        return str(decode_access_token(resources.secret, token).user_id)
    except InvalidToken:
        return None


class OperationTelemetry(SchemaExtension):
    def _names(self) -> tuple[str, str]:
        ec = self.execution_context
        try:
            kind = ec.operation_type.value
        except Exception:  # the document did not parse
            kind = "unknown"
        return operation_label(ec.operation_name), kind

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        started = time.perf_counter()
        yield
        operation, kind = self._names()
        GRAPHQL_OPERATIONS.labels(operation, kind).inc()
        GRAPHQL_LATENCY.labels(operation, kind).observe(time.perf_counter() - started)
        result = self.execution_context.result
        for error in (result.errors if result is not None else None) or []:
            code = error_code(error)
            GRAPHQL_ERRORS.labels(operation, kind, code).inc()
            if error.path:
                RESOLVER_ERRORS.labels(operation, code).inc()

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        operation, _ = self._names()
        logs.bind(operation=operation, user_id=_user_id(self.execution_context.context))
        yield
