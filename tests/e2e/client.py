"""A minimal GraphQL client over real HTTP and WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, url: str, token: str | None = None) -> None:
        self.http = http
        self.url = url
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def raw(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(self.url, json={"query": query, "variables": variables}, headers=self.headers())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.raw(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def upload(
        self, query: str, variables: dict[str, Any], file_var: str, path: Path, mime: str
    ) -> dict[str, Any]:
        """The GraphQL multipart request spec: operations, map, then the file part."""
        operations = {"query": query, "variables": {**variables, file_var: None}}
        files = {"0": (path.name, path.read_bytes(), mime)}  # noqa: ASYNC240  (small test fixtures)
        data = {"operations": json.dumps(operations), "map": json.dumps({"0": [f"variables.{file_var}"]})}
        response = await self.http.post(self.url, data=data, files=files, headers=self.headers())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def subscribe(self, query: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        ws_url = self.url.replace("http://", "ws://")
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
            op_id = str(uuid.uuid4())
            await ws.send(
                json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
            )
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    yield message["payload"]
                elif message["type"] == "complete":
                    return
                elif message["type"] == "error":
                    raise AssertionError(f"subscription error: {message}")
