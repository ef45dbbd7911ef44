"""Schema-driven fuzzing (hypothesis-graphql) against the real app: no input may cause an internal error.

Queries and mutations are generated from the schema as anonymous, customer and admin. `Upload`
arguments become a `$upload` variable, sent as a file in a GraphQL multipart request. A small run is
part of the suite; `-m slow` runs a larger one.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
    print_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from audiocity.graphql.schema import build_schema
from tests.e2e.server import Server
from tests.security.conftest import Accounts

SCHEMA = build_schema()._schema
UPLOAD = st.just(VariableNode(name=NameNode(value="upload")))
STRATEGY = st.one_of(
    queries(SCHEMA, custom_scalars={"Upload": UPLOAD}, print_ast=lambda d: d),
    mutations(SCHEMA, custom_scalars={"Upload": UPLOAD}, print_ast=lambda d: d),
)


def send(server: Server, token: str | None, document: DocumentNode) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    text = print_ast(document)
    if "$upload" not in text:
        return httpx.post(server.graphql_url, json={"query": text}, headers=headers, timeout=60)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    upload = VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value="upload")),
        type=NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="Upload"))),
        directives=(),
    )
    operation = replace(operation, variable_definitions=(*(operation.variable_definitions or ()), upload))
    document = replace(document, definitions=(operation, *document.definitions[1:]))
    operations = {"query": print_ast(document), "variables": {"upload": None}}
    return httpx.post(
        server.graphql_url,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.upload"]})},
        files={"0": ("fuzz.mp3", b"ID3\x03\x00 not audio", "audio/mpeg")},
        headers=headers,
        timeout=60,
    )


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        body: dict[str, Any] = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, body


def run_fuzz(server: Server, token: str | None, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(document=STRATEGY)
    def fuzz(document: DocumentNode) -> None:
        check(send(server, token, document))

    fuzz()


@pytest.mark.parametrize("role", ["anonymous", "customer", "admin"])
def test_fuzz_small(server: Server, accounts: Accounts, role: str) -> None:
    token = {"anonymous": None, "customer": accounts.customer, "admin": accounts.admin}[role]
    run_fuzz(server, token, examples=25)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "customer", "admin"])
def test_fuzz_large(server: Server, accounts: Accounts, role: str) -> None:
    token = {"anonymous": None, "customer": accounts.customer, "admin": accounts.admin}[role]
    run_fuzz(server, token, examples=1000)
