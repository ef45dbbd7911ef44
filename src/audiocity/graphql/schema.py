"""The schema: merged query, mutation and subscription roots, with unexpected errors masked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionContext

from audiocity.graphql.context import Context
from audiocity.graphql.errors import PUBLIC_CODES
from audiocity.graphql.mutations.accounts import AccountMutations
from audiocity.graphql.mutations.catalog import CatalogMutations
from audiocity.graphql.mutations.commerce import CommerceMutations
from audiocity.graphql.mutations.library import LibraryMutations
from audiocity.graphql.mutations.uploads import UploadMutations
from audiocity.graphql.queries import Query
from audiocity.graphql.relay import Node
from audiocity.graphql.subscriptions import Subscription
from audiocity.graphql.types.audiobook import Audiobook, AudioFile, Category
from audiocity.graphql.types.commerce import Cart, Order
from audiocity.graphql.types.job import Job
from audiocity.graphql.types.user import User

log = logging.getLogger("audiocity.graphql")
MASKED_MESSAGE = "Unexpected error."


@strawberry.type
class Mutation(AccountMutations, CatalogMutations, UploadMutations, CommerceMutations, LibraryMutations):
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
    return (error.extensions or {}).get("code") in PUBLIC_CODES


class AudioCitySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        request_id = _request_id(execution_context)
        for error in errors:
            if error.original_error is not None and not _is_public(error):
                log.error("request %s: %s", request_id, error.message, exc_info=error.original_error)


def _request_id(execution_context: ExecutionContext | None) -> Any:
    if execution_context is None:
        return "-"
    ctx = execution_context.context
    request = getattr(ctx, "request", None)
    return getattr(getattr(request, "state", None), "request_id", "-")


def _mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=lambda e: not _is_public(e), error_message=MASKED_MESSAGE)


def build_schema() -> strawberry.Schema:
    return AudioCitySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Node, Audiobook, AudioFile, Category, Job, Order, Cart, User],
        extensions=[
            ReleaseReads,
            lambda: MaskErrors(should_mask_error=lambda e: not _is_public(e), error_message=MASKED_MESSAGE),
        ],
    )
