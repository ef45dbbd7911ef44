"""Inputs PostgreSQL would reject are refused with a code and a field, never "Unexpected error"."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.security.conftest import Accounts


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


BOOKS = "query($after: String, $sort: AudiobookSort, $search: String) { audiobooks(first: 2, after: $after, sort: $sort, search: $search) { totalCount } }"  # noqa: E501
CREATE = (
    "mutation($input: AudiobookInput!) { createAudiobook(input: $input) { audiobook { id } errors { code field } } }"
)


def post(server: Server, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(server.graphql_url, json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"after": cursor(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]), "sort": "PRICE_LOW"}, "BAD_USER_INPUT"),
        ({"after": cursor([10**30, str(uuid.uuid4())]), "sort": "PRICE_LOW"}, "BAD_USER_INPUT"),
        ({"after": cursor(["0001-01-01T00:00:00+00:00", str(uuid.uuid4())])}, "BAD_USER_INPUT"),
        ({"after": cursor(["9999-12-31T23:59:59+00:00", str(uuid.uuid4())])}, "BAD_USER_INPUT"),
        ({"after": base64.urlsafe_b64encode(b"[" * 100_000).decode()}, "BAD_USER_INPUT"),
        ({"search": "word " * 250_000}, "PAYLOAD_TOO_LARGE"),  # 1.25 MB
        ({"search": "w" * 5_000}, "BAD_USER_INPUT"),
        ({"search": "nul\x00byte"}, "BAD_USER_INPUT"),
    ],
)
def test_bad_catalog_arguments(server: Server, variables: dict[str, Any], code: str) -> None:
    body = post(server, BOOKS, **variables) if code != "PAYLOAD_TOO_LARGE" else _too_large(server, variables)
    assert codes(body) == [code], body


def _too_large(server: Server, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(server.graphql_url, json={"query": BOOKS, "variables": variables})
    assert response.status_code == 413
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("input", "field", "code"),
    [
        ({"subtitle": "s" * 501}, "subtitle", "TOO_LONG"),
        ({"language": "en-abcdefgh-abcde"}, "language", "INVALID"),  # 17 characters
        ({"authors": ["a"] * 51}, "authors", "INVALID"),
    ],
)
def test_bad_audiobook_fields_are_user_errors(
    server: Server, accounts: Accounts, input: dict[str, Any], field: str, code: str
) -> None:
    body = post(server, CREATE, accounts.admin, input={"title": "Bad", "priceCents": 100, **input})
    assert body["data"]["createAudiobook"] == {"audiobook": None, "errors": [{"code": code, "field": field}]}, body


def test_categories_that_slug_alike_are_one(server: Server, accounts: Accounts) -> None:
    name = f"Sci Fi {uuid.uuid4().hex[:6]}"
    body = post(
        server,
        CREATE,
        accounts.admin,
        input={"title": "Dup", "priceCents": 1, "categories": [name, name.lower().replace(" ", "-")]},
    )
    assert body["data"]["createAudiobook"]["errors"] == [], body


def test_a_sold_book_is_only_soft_deleted(server: Server, accounts: Accounts) -> None:
    from tests.security.helpers import sold_book

    book_id = sold_book(server, accounts)
    body = post(
        server,
        "mutation($id: ID!) { deleteAudiobook(id: $id) { deletedId softDeleted errors { code field } } }",
        accounts.admin,
        id=book_id,
    )
    assert body["data"]["deleteAudiobook"] == {"deletedId": book_id, "softDeleted": True, "errors": []}


def test_drafts_only_categories_are_hidden_from_customers(server: Server, accounts: Accounts) -> None:
    name = f"Upcoming {uuid.uuid4().hex[:6]}"
    post(server, CREATE, accounts.admin, input={"title": "Draft", "priceCents": 1, "categories": [name]})
    listed = lambda token: [c["name"] for c in post(server, "{ categories { name } }", token)["data"]["categories"]]  # noqa: E731
    assert name in listed(accounts.admin)
    assert name not in listed(accounts.customer) and name not in listed(None)
