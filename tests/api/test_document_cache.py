"""A repeated document is parsed and validated once per process; bad documents are refused every time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from strawberry.types import ExecutionResult

from audiocity.config import Settings
from audiocity.graphql import document_cache
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from tests.app_resources import in_process_resources

SECRET = "document-cache-secret-0123456789-abcdef"


class Counted:
    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[Counted, Counted]:
    parse, validate = Counted(document_cache.parse_document), Counted(document_cache.validate)
    monkeypatch.setattr(document_cache, "parse_document", parse)
    monkeypatch.setattr(document_cache, "validate", validate)
    return parse, validate


def run_with(tmp_path: Path, sessions: Any) -> Callable[..., Any]:
    settings = Settings(AUDIOCITY_DATA_DIR=tmp_path, MAX_QUERY_ALIASES=3, MAX_QUERY_COST=300)
    schema = build_schema(settings)
    resources = in_process_resources(sessions, tmp_path, SECRET, settings=settings)

    async def run(query: str, variables: dict[str, Any] | None = None) -> ExecutionResult:
        request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
        return await schema.execute(
            query, variable_values=variables, context_value=Context(resources=resources, request=request)
        )

    return run


def codes(result: ExecutionResult) -> list[str]:
    return [(e.extensions or {}).get("code", "") for e in result.errors or []]


async def test_same_document_is_validated_once(counted: tuple[Counted, Counted], tmp_path: Path, sessions: Any) -> None:
    parse, validate = counted
    run = run_with(tmp_path, sessions)
    query = "query($n: Int!) { audiobooks(first: $n) { totalCount edges { node { id title } } } }"
    first = await run(query, {"n": 2})
    assert first.errors is None and first.data is not None
    assert (parse.calls, validate.calls) == (1, 1)
    second = await run(query, {"n": 2})
    assert second.errors is None and second.data == first.data
    assert (parse.calls, validate.calls) == (1, 1), "the second request re-parsed or re-validated"
    # The cost still follows the variables: 2 + n * (1 node) per page.
    big = await run(query, {"n": 100})
    assert big.errors is None
    assert (big.extensions or {})["cost"]["requested"] != (second.extensions or {})["cost"]["requested"]
    assert validate.calls == 1


async def test_refusals_repeat_every_time(counted: tuple[Counted, Counted], tmp_path: Path, sessions: Any) -> None:
    parse, validate = counted
    run = run_with(tmp_path, sessions)
    cases = {
        "{ nope }": "GRAPHQL_VALIDATION_FAILED",
        "{ a: __typename b: __typename c: __typename d: __typename }": "QUERY_TOO_COMPLEX",
        "{ audiobooks(first: 1) { totalCount ": "GRAPHQL_PARSE_FAILED",
        "{ a: audiobooks(first: 100) { edges { node { files { id } } } } }": "MAX_COST_EXCEEDED",
    }
    for query, code in cases.items():
        for _ in range(3):
            result = await run(query)
            assert result.data is None and codes(result) == [code], (query, result.errors)
    nul = "query($s: String) { audiobooks(first: 1, search: $s) { totalCount } }"
    for _ in range(2):
        assert codes(await run(nul, {"s": "a\x00b"})) == ["BAD_USER_INPUT"]
    assert (await run(nul, {"s": "ab"})).errors is None
    assert codes(await run('{ audiobooks(first: 1, search: "a\\u0000") { totalCount } }')) == ["BAD_USER_INPUT"]
    assert codes(await run('{ audiobooks(first: 1, search: "a\\u0000") { totalCount } }')) == ["BAD_USER_INPUT"]
    # Each distinct text that parses is parsed once and (unless over the alias limit, which refuses it
    # before validation) validated once; the one that does not parse was parsed all three times.
    assert validate.calls == 4  # unknown field, too costly, the NUL variable document, the NUL literal
    assert parse.calls == 1 + 1 + 3 + 1 + 1 + 1
