"""Hostile documents over real HTTP: each is refused before execution, while other clients are answered.

The timings of the concurrent `/healthz` and catalog calls are printed for docs/benchmarks.md; the test
asserts that they were answered, not how fast.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server

CATALOG = "{ audiobooks(first: 5) { edges { node { id title } } } }"


def hostile_cases() -> dict[str, tuple[str, dict[str, Any] | None, str]]:
    """name -> (query, variables, expected error code)."""
    books = "{ edges { node { files { id } categories { id } } } }"
    fragments = " ".join(
        f"fragment {chr(65 + i)} on Query {{ x{i}a: categories {{ ...{chr(66 + i)} }} "
        f"x{i}b: categories {{ ...{chr(66 + i)} }} }}"
        for i in range(12)
    )
    return {
        "100k __typename": ("{ " + " ".join(["__typename"] * 100_000) + " }", None, "PAYLOAD_TOO_LARGE"),  # 1.1 MB
        "30k __typename": ("{ " + " ".join(["__typename"] * 30_000) + " }", None, "QUERY_TOO_COMPLEX"),
        "5000 aliased audiobooks": (
            "{ " + " ".join(f"a{i}: audiobooks(first: 100) {{ totalCount }}" for i in range(5000)) + " }",
            None,
            "QUERY_TOO_COMPLEX",
        ),
        "1000 aliased __typename": (
            "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }",
            None,
            "QUERY_TOO_COMPLEX",
        ),
        "deep nesting": ("{ " + "categories { " * 20 + "id" + " }" * 20 + " }", None, "QUERY_TOO_COMPLEX"),
        "very deep nesting": ("{ a " + "{ a " * 2000 + "}" * 2001, None, "QUERY_TOO_COMPLEX"),
        "expensive": (
            "{ " + " ".join(f"a{i}: audiobooks(first: 100) {books}" for i in range(5)) + " }",
            None,
            "MAX_COST_EXCEEDED",
        ),
        "cost beyond 64 bits": (  # refused, and its cost (about 8e20) still written in the answer
            "{ audiobooks(first: 100) { edges { node { "
            + "similar(first: 2000000000) { " * 3
            + "id"
            + " }" * 3
            + " } } } }",
            None,
            "MAX_COST_EXCEEDED",
        ),
        "fragment bomb": ("query { ...A } " + fragments + " fragment M on Category { id }", None, "QUERY_TOO_COMPLEX"),
        "two sign-ins": (
            'mutation { a: login(email: "a@example.com", password: "x") { errors { code } } '
            'b: login(email: "a@example.com", password: "y") { errors { code } } }',
            None,
            "QUERY_TOO_COMPLEX",
        ),
        "unknown field": ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        "nul in variables": (
            "query($s: String) { audiobooks(first: 1, search: $s) { totalCount } }",
            {"s": "a\x00b"},
            "BAD_USER_INPUT",
        ),
    }


@pytest.mark.parametrize("case", list(hostile_cases()))
async def test_hostile_document_refused_while_others_are_answered(server: Server, case: str) -> None:
    query, variables, code = hostile_cases()[case]
    timings: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=60) as attacker, httpx.AsyncClient(timeout=60) as bystander:

        async def attack() -> httpx.Response:
            start = time.perf_counter()
            response = await attacker.post(server.graphql_url, json={"query": query, "variables": variables})
            timings["attack"] = time.perf_counter() - start
            return response

        async def healthz() -> httpx.Response:
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            response = await bystander.get(f"{server.base_url}/healthz")
            timings["healthz"] = time.perf_counter() - start
            return response

        async def catalog() -> httpx.Response:
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            response = await bystander.post(server.graphql_url, json={"query": CATALOG})
            timings["catalog"] = time.perf_counter() - start
            return response

        refused, health, books = await asyncio.gather(attack(), healthz(), catalog())
    assert health.status_code == 200 and health.text == "ok"
    assert books.status_code == 200 and "errors" not in books.json(), books.text
    body = refused.json()
    codes = [e.get("extensions", {}).get("code") for e in body["errors"]]
    assert codes == [code], body
    assert body.get("data") is None or all(v is None for v in (body.get("data") or {}).values())
    print(  # for docs/benchmarks.md
        f"\n{case}: refused in {timings['attack'] * 1000:.0f} ms; "
        f"healthz {timings['healthz'] * 1000:.0f} ms; catalog {timings['catalog'] * 1000:.0f} ms"
    )


async def test_cost_is_reported(server: Server) -> None:
    async with httpx.AsyncClient() as http:
        body = (
            await http.post(
                server.graphql_url,
                json={"query": "{ audiobooks(first: 10) { edges { node { id categories { name } } } } }"},
            )
        ).json()
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 2 + 10 * (1 + 1 + 1)  # edges, node, categories per item
    assert cost["limit"] == 1000
    assert "remaining" not in cost or cost["remaining"] >= 0
