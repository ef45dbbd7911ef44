"""A minimal GraphQL client over real HTTP and WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
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


TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class SocketClosed(Exception):
    """The server closed the socket; `code` and `reason` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"socket closed: {code} {reason}")
        self.code = code
        self.reason = reason


class GraphQLSocket:
    """One subscription socket speaking graphql-transport-ws or the legacy graphql-ws protocol.

    Several operations can share it; messages for other operations are kept until asked for. Server
    pings are answered (and counted) as they arrive.
    """

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.pings = 0
        self.keep_alives = 0
        self._inbox: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    @asynccontextmanager
    async def open(
        cls, graphql_url: str, protocol: str = TRANSPORT_WS, **connect_options: Any
    ) -> AsyncIterator[GraphQLSocket]:
        ws_url = graphql_url.replace("http://", "ws://")
        options = {"compression": None, **connect_options}
        async with websockets.connect(ws_url, subprotocols=[protocol], **options) as ws:  # type: ignore[list-item]
            yield cls(ws, protocol)

    async def init(self, token: str | None = None) -> dict[str, Any]:
        """Send `connection_init` (with the token, as the API asks) and return the server's answer."""
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return await self._receive_control()

    async def subscribe(self, query: str, **variables: Any) -> str:
        op_id = str(uuid.uuid4())
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.ws.send(json.dumps({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables}}))
        self._inbox.setdefault(op_id, [])
        return op_id

    async def stop(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.ws.send(json.dumps({"id": op_id, "type": kind}))

    async def message(self, op_id: str) -> dict[str, Any]:
        """The next message for `op_id` (`next`/`data`, `error` or `complete`)."""
        while not self._inbox.get(op_id):
            await self.receive()
        return self._inbox[op_id].pop(0)

    async def payloads(self, op_id: str) -> AsyncIterator[dict[str, Any]]:
        """Each result payload of `op_id` until it completes; an `error` message raises."""
        while True:
            message = await self.message(op_id)
            if message["type"] in ("next", "data"):
                yield message["payload"]
            elif message["type"] == "complete":
                return
            else:
                raise AssertionError(f"subscription error: {message}")

    async def closed(self) -> SocketClosed:
        """Read (and discard) everything until the server closes; return the close code and reason."""
        try:
            while True:
                await self.receive()
        except SocketClosed as closed:
            return closed

    async def _receive_control(self) -> dict[str, Any]:
        while True:
            message = await self._recv()
            if message.get("id") is None and message["type"] not in ("ping", "pong", "ka"):
                return message
            self._route(message)

    async def receive(self) -> dict[str, Any]:
        """The next message of any kind (operation messages are also kept for `message`)."""
        message = await self._recv()
        self._route(message)
        return message

    async def _recv(self) -> dict[str, Any]:
        try:
            raw = await self.ws.recv()
        except websockets.ConnectionClosed as exc:
            received = exc.rcvd
            raise SocketClosed(received.code if received else None, received.reason if received else "") from None
        message: dict[str, Any] = json.loads(raw)
        if message["type"] == "ping":
            self.pings += 1
            with suppress(websockets.ConnectionClosed):  # closing: the next read says how
                await self.ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "ka":
            self.keep_alives += 1
        return message

    def _route(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if op_id is not None:
            self._inbox.setdefault(op_id, []).append(message)
