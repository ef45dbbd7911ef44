"""Every query, mutation and subscription, enumerated from the schema, as anonymous, two customers and admin.

The table below says who may call each root field; a field missing from it fails the test, so a new
operation cannot be added without deciding who may use it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)

from audiocity.graphql.schema import build_schema
from tests.e2e.server import Server
from tests.security.conftest import Accounts

PUBLIC, USER, OWNER, ADMIN = "public", "user", "owner", "admin"  # OWNER: signed in, and only one's own
WHO_MAY_CALL: dict[str, str] = {
    # queries
    "node": PUBLIC, "nodes": PUBLIC, "audiobooks": PUBLIC, "audiobook": PUBLIC, "categories": PUBLIC, "cart": PUBLIC,
    "me": USER, "orders": USER, "order": USER, "library": USER,
    "downloadStats": ADMIN, "jobs": ADMIN, "job": ADMIN,
    # mutations
    "register": PUBLIC, "login": PUBLIC, "refreshToken": PUBLIC, "logout": PUBLIC,
    "requestPasswordReset": PUBLIC, "resetPassword": PUBLIC, "signInWithGoogle": PUBLIC, "exchangeSignInCode": PUBLIC,
    "logoutEverywhere": USER, "updateMe": USER, "changePassword": USER,
    "addToCart": PUBLIC, "removeFromCart": PUBLIC, "clearCart": PUBLIC,
    "checkout": USER, "saveProgress": USER,
    "setUserRole": ADMIN, "createAudiobook": ADMIN, "updateAudiobook": ADMIN, "publishAudiobook": ADMIN,
    "deleteAudiobook": ADMIN, "uploadAudioFile": ADMIN, "startUpload": ADMIN, "completeUpload": ADMIN,
    "cancelUpload": ADMIN, "reorderAudioFiles": ADMIN, "deleteAudioFile": ADMIN, "startTranscription": ADMIN,
    "refundOrder": ADMIN, "grantAudiobook": ADMIN,
    "uploadCover": ADMIN, "createCategory": ADMIN, "renameCategory": ADMIN, "deleteCategory": ADMIN,
    "updateChapters": ADMIN, "setPreview": ADMIN,
    # subscriptions
    "jobUpdates": ADMIN, "orderUpdates": OWNER,
}  # fmt: skip
ID_TYPES = {"userId": "User", "orderId": "Order", "jobId": "Job", "uploadId": "Upload", "fileIds": "AudioFile"}
SCHEMA = build_schema()._schema
ROOTS = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type, "subscription": SCHEMA.subscription_type}


def all_fields() -> list[tuple[str, str]]:
    return [(kind, name) for kind, root in ROOTS.items() if root for name in root.fields]


def gid(type_name: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{uuid.uuid4()}".encode()).decode().rstrip("=")


def value_for(t: Any, arg: str) -> Any:
    if isinstance(t, GraphQLNonNull):
        return value_for(t.of_type, arg)
    if isinstance(t, GraphQLList):
        return [value_for(t.of_type, arg)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        return {
            name: value_for(f.type, name)
            for name, f in t.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        } | ({"priceCents": 100} if "priceCents" in t.fields else {})
    assert isinstance(t, GraphQLScalarType)
    return {
        "ID": gid(ID_TYPES.get(arg, "Audiobook")),
        "String": f"x{uuid.uuid4().hex[:6]}",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
    }.get(t.name)


def document(kind: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any], list[str]]:
    """A minimal operation for one root field: its required arguments as variables, `__typename` selected."""
    required = {
        a: arg
        for a, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    }
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
    passed = ", ".join(f"{a}: ${a}" for a in required)
    named: Any = field.type
    while isinstance(named, GraphQLNonNull | GraphQLList):
        named = named.of_type
    selection = "" if isinstance(named, GraphQLScalarType | GraphQLEnumType) else " { __typename }"
    head = f"{kind} ({declared})" if declared else kind
    call = f"{name}({passed})" if passed else name
    query = f"{head} {{ {call}{selection} }}"
    uploads = [a for a, arg in required.items() if str(arg.type).strip("[]!") == "Upload"]
    return query, {a: (None if a in uploads else value_for(arg.type, a)) for a, arg in required.items()}, uploads


async def call_http(http: httpx.AsyncClient, server: Server, token: str | None, kind: str, name: str) -> list[str]:
    field = ROOTS[kind].fields[name]  # type: ignore[union-attr]
    query, variables, uploads = document(kind, name, field)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if uploads:
        ops = {"query": query, "variables": variables}
        files_map = {str(i): [f"variables.{a}"] for i, a in enumerate(uploads)}
        files = {str(i): ("a.mp3", b"ID3 not really audio", "audio/mpeg") for i in range(len(uploads))}
        response = await http.post(
            server.graphql_url,
            data={"operations": json.dumps(ops), "map": json.dumps(files_map)},
            files=files,
            headers=headers,
        )
    else:
        response = await http.post(server.graphql_url, json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    return [e.get("extensions", {}).get("code", "NONE") for e in body.get("errors") or []]


async def call_ws(server: Server, token: str | None, name: str) -> list[str]:
    field = ROOTS["subscription"].fields[name]  # type: ignore[union-attr]
    query, variables, _ = document("subscription", name, field)
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"} if token else {}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if message["type"] == "error":
                return [e.get("extensions", {}).get("code", "NONE") for e in message["payload"]]
            if message["type"] == "next":
                return [e.get("extensions", {}).get("code", "NONE") for e in message["payload"].get("errors") or []]
            if message["type"] == "complete":
                return []


def expected_refusal(rule: str, role: str) -> str | None:
    if rule == PUBLIC or role == "admin" or (rule in (USER, OWNER) and role != "anonymous"):
        return None
    return "UNAUTHENTICATED" if role == "anonymous" else "FORBIDDEN"


def test_every_root_field_has_an_entry() -> None:
    assert sorted(name for _, name in all_fields()) == sorted(WHO_MAY_CALL)


@pytest.mark.parametrize(("kind", "name"), all_fields())
async def test_authorization(server: Server, accounts: Accounts, kind: str, name: str) -> None:
    rule = WHO_MAY_CALL[name]
    tokens = {
        "anonymous": None,
        "customer": accounts.customer,
        "other customer": accounts.other,
        "admin": accounts.admin,
    }
    async with httpx.AsyncClient(timeout=60) as http:
        for role, token in tokens.items():
            codes = await (
                call_ws(server, token, name) if kind == "subscription" else call_http(http, server, token, kind, name)
            )
            refusal = expected_refusal(rule, role)
            assert "INTERNAL_SERVER_ERROR" not in codes, (role, codes)
            if rule == OWNER and role != "anonymous":
                assert set(codes) <= {"FORBIDDEN", "NOT_FOUND"}, (role, codes)  # someone else's (random) order
            elif refusal:
                assert codes == [refusal], (role, codes)
            else:
                assert "UNAUTHENTICATED" not in codes and "FORBIDDEN" not in codes, (role, codes)
