"""The schema extension that bounds every operation before any resolver runs.

In order: parsing with a token cap (in a worker thread for big documents so other clients keep
being answered); depth, aliases, root fields and credential fields; validation (also off the loop);
NUL characters; then the query cost against the per-query limit and the client's cost budget.
Every verdict that depends on the document alone is kept per distinct document text
(`graphql/document_cache.py`), so a repeated document is parsed and validated once per process.
The cost is reported to the client in `extensions.cost`. (The operations-per-minute budget is taken
where operations enter, before this: `graphql/operations_limit.py`.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension

from audiocity.graphql import document_cache
from audiocity.graphql.document_cache import CheckedDocument, DocumentCache
from audiocity.graphql.errors import bad_input, rate_limited
from audiocity.graphql.limits import LimitExceeded, Limits, too_complex
from audiocity.ratelimit import RateLimited, RateLimiter, Rule


@dataclass(frozen=True)
class GuardConfig:
    limits: Limits
    parse_in_thread_chars: int = 2_000
    cost_rule: Rule = field(default_factory=lambda: Rule(0, 60))
    # One per schema (`graphql.schema.guard_config`), shared by all its requests.
    documents: DocumentCache = field(default_factory=lambda: DocumentCache(512), compare=False)


class RequestGuard(SchemaExtension):
    def __init__(self, config: GuardConfig) -> None:
        super().__init__()
        self.config = config
        self.checked: CheckedDocument | None = None
        self.cost: int | None = None
        self.remaining: int | None = None

    def _big(self) -> bool:
        return len(self.execution_context.query or "") > self.config.parse_in_thread_chars

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(fn) if self._big() else fn()

    def _limiter(self) -> tuple[RateLimiter | None, str | None]:
        ctx = self.execution_context.context
        limiter = getattr(getattr(ctx, "resources", None), "limiter", None)
        client = ctx.client_address() if hasattr(ctx, "client_address") else None
        return limiter, client

    async def _take(self, name: str, rule: Rule, cost: float) -> int | None:
        limiter, client = self._limiter()
        if limiter is None or client is None or not rule.enabled:
            return None
        try:
            decision = await limiter.check(name, (rule, f"client:{client}"), cost=cost)
        except RateLimited as exc:
            ctx = self.execution_context.context
            if hasattr(ctx, "refuse_with_retry_after"):
                ctx.refuse_with_retry_after(exc.retry_after)
            raise rate_limited(exc.retry_after) from None
        return decision.remaining

    async def on_parse(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.graphql_document is None and ec.query:
            query, max_tokens = ec.query, self.config.limits.tokens
            cache = self.config.documents
            key = cache.key(ec.schema._schema, ec.validation_rules, query)

            def parser(text: str) -> DocumentNode:
                try:
                    return document_cache.parse_document(text, max_tokens=max_tokens)
                except RecursionError:
                    raise too_complex("depth", self.config.limits.depth + 1, self.config.limits.depth) from None

            try:
                self.checked = cache.get(key) or await self._run(lambda: cache.parse(key, query, parser))
            except LimitExceeded:
                raise
            except GraphQLError as exc:
                if "more than" in exc.message and "tokens" in exc.message:
                    raise LimitExceeded(exc.message, "QUERY_TOO_COMPLEX", "tokens", allowed=max_tokens) from None
                if "nested too deeply" in exc.message:
                    raise LimitExceeded(exc.message, "QUERY_TOO_COMPLEX", "depth") from None
                raise GraphQLError(exc.message, extensions={"code": "GRAPHQL_PARSE_FAILED"}) from None
            ec.graphql_document = self.checked.document
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is not None and ec.pre_execution_errors is None:
            schema, rules, name, variables = ec.schema._schema, ec.validation_rules, ec.operation_name, ec.variables
            checked = self.checked
            if checked is None or checked.document is not document:  # a document Strawberry parsed itself
                checked = CheckedDocument(document)

            def check() -> list[GraphQLError]:
                checked.check_shape(name, self.config.limits)
                errors = checked.validation_errors(schema, rules)
                if errors:
                    return errors
                if checked.has_nul(variables):
                    raise bad_input("Text may not contain NUL characters.")
                self.cost = checked.cost(schema, name, variables)
                return []

            errors = await self._run(check) if checked.errors is None else check()
            ec.pre_execution_errors = errors
            if not errors and self.cost is not None:
                if self.cost > self.config.limits.cost:
                    raise LimitExceeded(
                        f"The query costs {self.cost}, more than the limit of {self.config.limits.cost}.",
                        "MAX_COST_EXCEEDED",
                        "cost",
                        requested=self.cost,
                        allowed=self.config.limits.cost,
                    )
                self.remaining = await self._take("cost", self.config.cost_rule, max(1, self.cost))
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        cost: dict[str, Any] = {"requested": self.cost, "limit": self.config.limits.cost}
        if self.remaining is not None:
            cost["remaining"] = self.remaining
        return {"cost": cost}
