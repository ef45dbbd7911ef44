"""SIGTERM to the API: it stops accepting, finishes what is in flight, closes sockets with a reason, exits.

An upload cut by the stop resumes on the next server from exactly where the stopped one left it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.db import session_scope
from audiocity.graphql.relay import from_global_id, to_global_id
from audiocity.http.websocket_protocol import RESTART_REASON, SERVICE_RESTART
from audiocity.models import Order, PaymentProvider, Role, User
from tests.e2e.client import GraphQLClient, GraphQLSocket
from tests.e2e.server import run_server
from tests.fixtures.audio import tone_file
from tests.uploads import resumable
from tests.workers.conftest import with_db

Q = resumable.QUANTUM
REGISTER = (
    """mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } errors { code } } }"""
)
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken user { id } errors { code } } }"""
CREATE_BOOK = (
    """mutation($input: AudiobookInput!) { createAudiobook(input: $input) { audiobook { id } errors { code } } }"""
)
START = """mutation($input: StartUploadInput!) { startUpload(input: $input) {
  upload { id url } errors { code field message } } }"""
COMPLETE = """mutation($id: ID!) { completeUpload(uploadId: $id) {
  audioFile { sizeBytes durationSeconds } errors { code field message } } }"""

# Process start-up takes seconds, or minutes on a loaded shared machine.
STARTUP = 300


async def test_sigterm_during_an_upload_loses_nothing(
    tmp_path: Path, database_url: str, redis_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    data = tone_file(tmp_path / "tone.wav", 30).read_bytes()
    total = len(data)
    assert total > 3 * Q
    data_dir = tmp_path / "app"
    env = {"IN_PROCESS_WORKER": "0", "SHUTDOWN_GRACE_SECONDS": "30"}
    queue_url = with_db(redis_url, 15)

    async with httpx.AsyncClient(timeout=60) as http:
        with run_server(data_dir, database_url, queue_url, ready_within=STARTUP, **env) as first:
            anon = GraphQLClient(http, first.graphql_url)
            email = f"stopper-{uuid.uuid4().hex[:10]}@example.com"
            created = (await anon(REGISTER, input={"email": email, "password": "correct horse battery"}))["register"]
            assert created["errors"] == [], created
            account = (await anon(LOGIN, email=email, password="correct horse battery"))["login"]
            async with session_scope(sessions) as session:
                user_id = from_global_id(account["user"]["id"])[1]
                await session.execute(update(User).where(col(User.id) == user_id).values(role=Role.ADMIN))
            admin = GraphQLClient(http, first.graphql_url, account["accessToken"])
            book = (await admin(CREATE_BOOK, input={"title": "Stopped", "priceCents": 100}))["createAudiobook"]
            started = (await admin(START, input={
                "audiobookId": book["audiobook"]["id"], "fileName": "tone.wav", "contentType": "audio/wav",
                "sizeBytes": total,
            }))["startUpload"]  # fmt: skip
            assert started["errors"] == [], started
            upload = started["upload"]
            url = upload["url"]
            first_chunk = await resumable.send_chunk(http, url, resumable.bytes_source(data), 0, Q, total)
            assert resumable.progress(first_chunk).offset == Q

            # The second chunk: half of it, then SIGTERM, then the rest.
            signalled = asyncio.Event()

            async def body() -> AsyncIterator[bytes]:
                yield data[Q : Q + Q // 2]
                first.process.terminate()  # SIGTERM
                signalled.set()
                await asyncio.sleep(1.0)  # the server is shutting down meanwhile
                yield data[Q + Q // 2 : 2 * Q]

            headers = {"Content-Range": f"bytes {Q}-{2 * Q - 1}/{total}"}
            sending = asyncio.create_task(http.put(url, content=body(), headers=headers))
            await signalled.wait()
            await asyncio.sleep(0.5)
            with pytest.raises(httpx.ConnectError):  # no new connections once stopping
                await http.get(f"{first.base_url}/healthz", headers={"Connection": "close"})
            second_chunk = await sending
            assert resumable.progress(second_chunk).offset == 2 * Q, second_chunk.text
            assert await asyncio.to_thread(first.process.wait, 60) == 0, first.log()

        with run_server(data_dir, database_url, queue_url, ready_within=STARTUP, **env) as second:
            url = url.replace(first.base_url, second.base_url)
            state = await resumable.status(http, url, total)
            assert state.offset == 2 * Q, "the chunk finished during shutdown is kept"
            done = await resumable.upload(http, url, resumable.bytes_source(data), total, offset=state.offset)
            assert done.done
            admin = GraphQLClient(http, second.graphql_url, account["accessToken"])
            completed = (await admin(COMPLETE, id=upload["id"]))["completeUpload"]
            assert completed["errors"] == [], completed
            assert completed["audioFile"]["sizeBytes"] == total


ORDER_UPDATES = "subscription($orderId: ID!) { orderUpdates(orderId: $orderId) { id status } }"


async def test_sigterm_answers_requests_in_flight_then_closes_sockets_with_a_reason(
    tmp_path: Path, database_url: str, redis_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    env = {"IN_PROCESS_WORKER": "0", "SHUTDOWN_GRACE_SECONDS": "30"}
    async with httpx.AsyncClient(timeout=60) as http:
        with run_server(tmp_path / "app", database_url, with_db(redis_url, 14), ready_within=STARTUP, **env) as api:
            anon = GraphQLClient(http, api.graphql_url)
            email = f"follower-{uuid.uuid4().hex[:10]}@example.com"
            created = (await anon(REGISTER, input={"email": email, "password": "correct horse battery"}))["register"]
            assert created["errors"] == [], created
            account = (await anon(LOGIN, email=email, password="correct horse battery"))["login"]
            async with session_scope(sessions) as session:
                order = Order(
                    user_id=from_global_id(account["user"]["id"])[1],
                    provider=PaymentProvider.TEST,
                    idempotency_key=uuid.uuid4().hex,
                    total_cents=500,
                    currency="USD",
                )
                session.add(order)
            order_id = str(to_global_id("Order", order.id))

            async with GraphQLSocket.open(api.graphql_url) as sock:
                assert (await sock.init(account["accessToken"]))["type"] == "connection_ack"
                stream = sock.payloads(await sock.subscribe(ORDER_UPDATES, orderId=order_id))
                assert (await anext(stream))["data"]["orderUpdates"] == {"id": order_id, "status": "PENDING"}

                # A request in flight: half its body, SIGTERM, then (after the checks below) the rest.
                query = json.dumps({"query": "{ __typename }"}).encode()
                rest = asyncio.Event()

                async def body() -> AsyncIterator[bytes]:
                    yield query[:5]
                    await rest.wait()
                    yield query[5:]

                headers = {"Content-Type": "application/json", "Content-Length": str(len(query))}
                in_flight = asyncio.create_task(http.post(api.graphql_url, content=body(), headers=headers))
                await asyncio.sleep(0.5)  # the request is being read when the signal comes
                api.process.terminate()  # SIGTERM
                while True:  # until the server stops accepting
                    try:
                        await http.get(f"{api.base_url}/healthz", headers={"Connection": "close"})
                    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                        # refused, or taken into the backlog just as the listener closed and then reset
                        break
                    await asyncio.sleep(0.1)

                # Stopping, with a request in flight: the socket is still open and answers.
                await sock.ws.send(json.dumps({"type": "ping"}))
                assert (await sock.receive())["type"] == "pong"
                rest.set()
                answered = await in_flight
                assert answered.status_code == 200 and answered.json()["data"] == {"__typename": "Query"}

                closed = await sock.closed()
                assert (closed.code, closed.reason) == (SERVICE_RESTART, RESTART_REASON)
            assert await asyncio.to_thread(api.process.wait, 60) == 0, api.log()
