"""The schema: merged query, mutation and subscription roots, with unexpected errors masked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from audiocity.config import Settings
from audiocity.graphql.allow_list import AllowList
from audiocity.graphql.context import Context
from audiocity.graphql.document_cache import DocumentCache
from audiocity.graphql.errors import PUBLIC_CODES
from audiocity.graphql.fast_path import FastPath, Plans
from audiocity.graphql.guard import GuardConfig, RequestGuard
from audiocity.graphql.limits import Limits
from audiocity.graphql.mutations.accounts import AccountMutations
from audiocity.graphql.mutations.catalog import CatalogMutations
from audiocity.graphql.mutations.chapters import ChapterMutations
from audiocity.graphql.mutations.commerce import CommerceMutations
from audiocity.graphql.mutations.library import LibraryMutations
from audiocity.graphql.mutations.metadata import MetadataMutations
from audiocity.graphql.mutations.passwords import PasswordMutations
from audiocity.graphql.mutations.sign_in import SignInMutations
from audiocity.graphql.mutations.uploads import UploadMutations
from audiocity.graphql.queries import Query
from audiocity.graphql.relay import Node
from audiocity.graphql.subscriptions import Subscription
from audiocity.graphql.telemetry import OperationTelemetry
from audiocity.graphql.types.audiobook import Audiobook, AudioFile, Category
from audiocity.graphql.types.commerce import Cart, Order
from audiocity.graphql.types.common import CURRENCY_CODE_SCALAR, CurrencyCode
from audiocity.graphql.types.job import Job
from audiocity.graphql.types.user import User
from audiocity.ratelimit import Rule

log = logging.getLogger("audiocity.graphql")
MASKED_MESSAGE = "Unexpected error."


@strawberry.type(description="Everything clients can change; bad input comes back as `errors` in the payload.")
class Mutation(
    AccountMutations,
    PasswordMutations,
    SignInMutations,
    CatalogMutations,
    MetadataMutations,
    ChapterMutations,
    UploadMutations,
    CommerceMutations,
    LibraryMutations,
):
    pass


class ReleaseReads(SchemaExtension):
    """Give the request's read connection back to the pool once the operation is done."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.release_reads()


def _is_public(error: GraphQLError) -> bool:
    if error.original_error is None:
        return True  # validation and parse errors describe the client's own query
    if error.path is None and error.message.startswith("Variable '$"):
        # a variable of the wrong shape (say, a file where an input object belongs): the client's input
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return True
    return (error.extensions or {}).get("code") in PUBLIC_CODES


class AudioCitySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Expected errors: one line, no parameters. Unexpected ones: once, with the request id.

        Tracebacks are logged from the exception only (SQL parameters are hidden by the engine), and
        never with the operation's variables, which can hold passwords and tokens.
        """
        request_id = _request_id(execution_context)
        for error in errors:
            if error.original_error is None or _is_public(error):
                code = (error.extensions or {}).get("code", "GRAPHQL_ERROR")
                log.info("request %s: refused (%s): %s", request_id, code, _short(error.message))
            else:
                log.error("request %s: %s", request_id, _short(error.message), exc_info=error.original_error)


def _short(message: str, limit: int = 200) -> str:
    """Error messages can quote client input: keep them to one short line."""
    one_line = " ".join(message.split())
    return one_line if len(one_line) <= limit else one_line[:limit] + "..."


def _request_id(execution_context: ExecutionContext | None) -> str:
    if execution_context is None:
        return "-"
    ctx = execution_context.context
    request = getattr(ctx, "request", None)
    return str(getattr(getattr(request, "state", None), "request_id", "-"))


class MaskWithRequestId(MaskErrors):
    """Masked errors name the request id, so a user can quote it and we can find the log line.

    The message names it; `extensions.requestId` is added to every error of an answer by the
    transports (`errors.with_request_id`).
    """

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = _request_id(self.execution_context)
        return GraphQLError(
            message=f"{MASKED_MESSAGE[:-1]} (request {request_id}).",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )


def guard_config(settings: Settings) -> GuardConfig:
    return GuardConfig(
        limits=Limits(
            tokens=settings.max_query_tokens,
            depth=settings.max_query_depth,
            aliases=settings.max_query_aliases,
            root_fields=settings.max_root_fields,
            cost=settings.max_query_cost,
        ),
        parse_in_thread_chars=settings.parse_in_thread_chars,
        documents=DocumentCache(settings.document_cache_size),
        cost_rule=Rule.parse(settings.rate_limit_cost_per_client),
    )


def build_schema(settings: Settings | None = None, tracing: bool = False) -> strawberry.Schema:
    """The schema; with settings, also the request limits and (by setting) introspection off.

    `tracing` adds Strawberry's OpenTelemetry extension (a span per resolver: only when exporting).
    """
    extensions: list[Any] = [AllowList, ReleaseReads]
    if settings is not None:
        config = guard_config(settings)
        extensions.append(lambda: RequestGuard(config))
        if not settings.introspection:
            extensions.append(DisableIntrospection)
    extensions.append(lambda: MaskWithRequestId(should_mask_error=lambda e: not _is_public(e)))
    extensions.append(OperationTelemetry)  # after the masking: it sees the codes before they are masked
    plans = Plans(settings.document_cache_size if settings is not None else 512)
    extensions.append(lambda: FastPath(plans))  # last: answers before execution when it can (FAST_PATH)
    if tracing:
        from strawberry.extensions.tracing import OpenTelemetryExtension

        extensions.append(OpenTelemetryExtension)
    return AudioCitySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Node, Audiobook, AudioFile, Category, Job, Order, Cart, User],
        config=StrawberryConfig(scalar_map={CurrencyCode: CURRENCY_CODE_SCALAR}),
        extensions=extensions,
    )
