"""Allow-list mode: registered operations run, any other document is refused before execution."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from audiocity_client import AudioCityClient, RegisterInput
from graphql import parse

from audiocity.graphql.allow_list import canonical, operations_in
from tests.e2e.server import Server, run_server

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = sorted(str(p) for p in (ROOT / "client" / "operations").glob("*.graphql"))


def test_canonical_form_ignores_layout_comments_and_other_operations() -> None:
    sources = ["fragment F on Query { me { id } }", "query A { ...F }  query B { categories { name } }"]
    registered = operations_in(sources)
    assert set(registered) == {"A", "B"}
    sent = parse("# a comment\nquery A {\n  ...F\n}\nfragment F on Query { me { id } }\nquery Other { me { id } }")
    assert canonical(sent, "A") == registered["A"]
    assert canonical(sent, None) is None, "two operations and no operationName: nothing is selected"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(
        tmp_path_factory.mktemp("allow-list-app"), database_url, redis_url, ALLOWED_OPERATIONS_ONLY="1"
    ) as running:
        yield running


async def test_only_registered_operations_run(server: Server) -> None:
    registered = server.cli("operations", "register", *OPERATIONS)
    assert registered.returncode == 0, registered.stderr
    assert any(line.endswith("  Audiobooks") for line in registered.stdout.splitlines())

    async with httpx.AsyncClient() as http:
        refused = (await http.post(server.graphql_url, json={"query": "{ categories { name slug } }"})).json()
    assert refused["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED" and refused.get("data") is None

    async with AudioCityClient(server.graphql_url) as client:  # the generated client sends registered documents
        page = await client.audiobooks(first=5)
        assert page.audiobooks.total_count >= 0
        signed_up = await client.register(
            RegisterInput(email=f"allow-{time.monotonic_ns()}@example.com", password="pw123456")
        )
        assert signed_up.register.errors == []
