"""A published book with a file, bought by the customer, all over HTTP."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import Server
from tests.fixtures.audio import tone_file
from tests.security.conftest import Accounts

UPLOAD = """mutation($id: ID!, $file: Upload!) { uploadAudioFile(audiobookId: $id, file: $file) {
  audioFile { id } errors { code message } } }"""


def gql(server: Server, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = httpx.post(
        server.graphql_url, json={"query": query, "variables": variables}, headers=headers, timeout=60
    ).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def published_book(server: Server, accounts: Accounts) -> str:
    create = 'mutation { createAudiobook(input: {title: "Sold", priceCents: 100}) { audiobook { id } } }'
    book_id: str = gql(server, create, accounts.admin)["createAudiobook"]["audiobook"]["id"]
    with tempfile.TemporaryDirectory() as tmp:
        path = tone_file(Path(tmp) / "tone.wav", 1.0)
        operations = {"query": UPLOAD, "variables": {"id": book_id, "file": None}}
        response = httpx.post(
            server.graphql_url,
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": ("tone.wav", path.read_bytes(), "audio/wav")},
            headers={"Authorization": f"Bearer {accounts.admin}"},
            timeout=60,
        )
    assert response.json()["data"]["uploadAudioFile"]["errors"] == [], response.text
    publish = "mutation($id: ID!) { publishAudiobook(id: $id, published: true) { errors { code } } }"
    assert gql(server, publish, accounts.admin, id=book_id)["publishAudiobook"]["errors"] == []
    return book_id


def sold_book(server: Server, accounts: Accounts) -> str:
    book_id = published_book(server, accounts)
    add = "mutation($id: ID!) { addToCart(audiobookId: $id) { errors { code } } }"
    assert gql(server, add, accounts.customer, id=book_id)["addToCart"]["errors"] == []
    checkout = "mutation($k: String!) { checkout(input: {provider: TEST, idempotencyKey: $k}) { errors { code } } }"
    assert gql(server, checkout, accounts.customer, k=uuid.uuid4().hex)["checkout"]["errors"] == []
    return book_id
