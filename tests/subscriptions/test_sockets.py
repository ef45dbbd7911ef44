"""Subscription sockets: who may subscribe, token expiry, keep-alive, the legacy protocol, slow clients."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.events import job_channel, order_channel, publish
from audiocity.graphql.relay import to_global_id
from audiocity.graphql.sockets import TOKEN_EXPIRED_REASON, TOO_SLOW_REASON
from audiocity.models import Job, JobStatus, Order, OrderStatus, PaymentProvider
from audiocity.services.jobs import job_payload
from audiocity.services.orders import order_payload
from tests.e2e.client import LEGACY_WS, GraphQLClient, GraphQLSocket, SocketClosed
from tests.factories import make_book
from tests.subscriptions.conftest import Stack
from tests.subscriptions.helpers import JOB_BY_ID, ORDER_UPDATES, db_id, register

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def make_order(sessions: Sessions, user_global_id: str) -> Order:
    """A pending order straight in the database: these tests are about following it, not checkout."""
    async with sessions() as s:
        order = Order(
            user_id=db_id(user_global_id),
            provider=PaymentProvider.TEST,
            idempotency_key=uuid.uuid4().hex,
            total_cents=500,
            currency="USD",
        )
        s.add(order)
        await s.commit()
        return order


async def set_order_status(sessions: Sessions, redis: aioredis.Redis, order: Order, status: OrderStatus) -> None:
    """Commit, then publish: what the commerce services do after a payment or refund."""
    async with sessions() as s:
        await s.execute(update(Order).where(Order.id == order.id).values(status=status))  # type: ignore[arg-type]
        await s.commit()
        changed = await s.get(Order, order.id)
        assert changed is not None
        payload = order_payload(changed)
    await publish(redis, [order_channel(order.id)], payload)


async def make_job(sessions: Sessions) -> Job:
    async with sessions() as s:
        book = await make_book(s)
        job = Job(audiobook_id=book.id, stage="queued")
        s.add(job)
        await s.commit()
        return job


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors of an operation, sent as `next` with errors or as an `error` message."""
    if message["type"] in ("next", "data"):
        errors: list[dict[str, Any]] = message["payload"]["errors"]
        return errors
    assert message["type"] == "error", message
    payload = message["payload"]
    return payload if isinstance(payload, list) else [payload]


async def first_code(sock: GraphQLSocket, query: str, **variables: Any) -> str:
    message = await sock.message(await sock.subscribe(query, **variables))
    return str(errors_of(message)[0]["extensions"]["code"])


async def test_only_admins_follow_jobs_and_only_owners_follow_orders(
    stack: Stack, admin: str, http: httpx.AsyncClient, sessions: Sessions, redis: aioredis.Redis
) -> None:
    anon = GraphQLClient(http, stack.a.graphql_url)
    owner, stranger = await register(anon, "owner"), await register(anon, "stranger")
    order = await make_order(sessions, owner["user"]["id"])
    order_id = _global("Order", order.id)
    job = await make_job(sessions)
    job_id = _global("Job", job.id)

    async with GraphQLSocket.open(stack.a.graphql_url) as sock:
        await sock.init()  # anonymous is allowed to connect, not to follow anything here
        assert await first_code(sock, JOB_BY_ID, jobId=job_id) == "UNAUTHENTICATED"
        assert await first_code(sock, ORDER_UPDATES, orderId=order_id) == "UNAUTHENTICATED"
    async with GraphQLSocket.open(stack.a.graphql_url) as sock:
        await sock.init(stranger["accessToken"])
        assert await first_code(sock, JOB_BY_ID, jobId=job_id) == "FORBIDDEN"
        assert await first_code(sock, ORDER_UPDATES, orderId=order_id) == "FORBIDDEN"
        unknown = _global("Order", uuid.uuid4())
        assert await first_code(sock, ORDER_UPDATES, orderId=unknown) == "FORBIDDEN", "no hint that ids exist"

    # The owner sees the order now, then each status change, on either API process.
    async with GraphQLSocket.open(stack.b.graphql_url) as sock:
        await sock.init(owner["accessToken"])  # from `a`: a token that lives 15 minutes
        stream = sock.payloads(await sock.subscribe(ORDER_UPDATES, orderId=order_id))
        assert (await anext(stream))["data"]["orderUpdates"] == {"id": order_id, "status": "PENDING"}
        await set_order_status(sessions, redis, order, OrderStatus.PAID)
        assert (await anext(stream))["data"]["orderUpdates"]["status"] == "PAID"
        await set_order_status(sessions, redis, order, OrderStatus.REFUNDED)
        assert (await anext(stream))["data"]["orderUpdates"]["status"] == "REFUNDED"

    async with GraphQLSocket.open(stack.a.graphql_url) as sock:
        closed_at_init = await _init_and_close(sock, "not-a-token")
        assert (closed_at_init.code, closed_at_init.reason) == (4403, "Forbidden")


async def _init_and_close(sock: GraphQLSocket, token: str) -> SocketClosed:
    await sock.ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    return await sock.closed()


def _global(type_name: str, raw: uuid.UUID) -> str:
    return str(to_global_id(type_name, raw))


async def test_an_expired_token_closes_the_socket_with_the_protocols_code(
    stack: Stack, http: httpx.AsyncClient, sessions: Sessions
) -> None:
    on_b = GraphQLClient(http, stack.b.graphql_url)  # `b` issues tokens that live a few seconds
    customers = [await register(on_b, "brief"), await register(on_b, "legacy")]
    orders = [await make_order(sessions, c["user"]["id"]) for c in customers]

    async def follow(
        protocol: str, customer: dict[str, Any], order: Order
    ) -> tuple[SocketClosed, list[dict[str, Any]]]:
        async with GraphQLSocket.open(stack.b.graphql_url, protocol) as sock:
            assert (await sock.init(customer["accessToken"]))["type"] == "connection_ack"
            op = await sock.subscribe(ORDER_UPDATES, orderId=_global("Order", order.id))
            first = await sock.message(op)
            assert first["payload"]["data"]["orderUpdates"]["status"] == "PENDING"
            control: list[dict[str, Any]] = []
            while True:
                try:
                    message = await sock.receive()
                except SocketClosed as closed:
                    return closed, control
                if message.get("id") is None and message["type"] not in ("ping", "ka"):
                    control.append(message)

    (modern, _), (legacy, legacy_control) = await asyncio.wait_for(
        asyncio.gather(
            follow("graphql-transport-ws", customers[0], orders[0]),
            follow(LEGACY_WS, customers[1], orders[1]),
        ),
        30,
    )
    assert (modern.code, modern.reason) == (4403, TOKEN_EXPIRED_REASON)
    assert legacy.code == 1011
    assert legacy_control == [{"type": "connection_error", "payload": {"message": "The access token expired."}}]

    # The same token on a new socket is refused at once.
    async with GraphQLSocket.open(stack.b.graphql_url) as sock:
        refused = await _init_and_close(sock, customers[0]["accessToken"])
        assert refused.code == 4403


async def test_sockets_are_kept_alive_with_pings_on_both_protocols(stack: Stack, admin: str) -> None:
    async with (
        GraphQLSocket.open(stack.b.graphql_url) as modern,
        GraphQLSocket.open(stack.b.graphql_url, LEGACY_WS) as legacy,
    ):
        await modern.init(admin)
        await legacy.init(admin)
        async with asyncio.timeout(10):
            while modern.pings < 2:
                await modern.receive()
            while legacy.keep_alives < 2:
                await legacy.receive()


async def test_the_legacy_protocol_streams_a_job_until_its_end(
    stack: Stack, admin: str, sessions: Sessions, redis: aioredis.Redis
) -> None:
    job = await make_job(sessions)
    async with GraphQLSocket.open(stack.b.graphql_url, LEGACY_WS) as sock:
        assert (await sock.init(admin))["type"] == "connection_ack"
        op = await sock.subscribe(JOB_BY_ID, jobId=_global("Job", job.id))
        stream = sock.payloads(op)
        assert (await anext(stream))["data"]["jobUpdates"]["status"] == "QUEUED"
        # a duplicate (sequence 1 twice) is dropped; the stream ends after the terminal event
        for sequence, status in ((1, JobStatus.RUNNING), (1, JobStatus.RUNNING), (2, JobStatus.SUCCEEDED)):
            job.sequence, job.status = sequence, status
            await publish(redis, [job_channel(job.id)], job_payload(job))
        rest = [p["data"]["jobUpdates"] async for p in stream]
        assert [(e["sequence"], e["status"]) for e in rest] == [(1, "RUNNING"), (2, "SUCCEEDED")]


async def test_a_subscriber_that_stops_reading_is_dropped_with_a_reason(
    stack: Stack, admin: str, sessions: Sessions, redis: aioredis.Redis, http: httpx.AsyncClient
) -> None:
    job = await make_job(sessions)
    port = int(stack.b.base_url.rsplit(":", 1)[1])
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # a client that reads slowly
    raw.connect(("127.0.0.1", port))
    raw.setblocking(False)
    async with GraphQLSocket.open(stack.b.graphql_url, sock=raw, max_queue=1) as sock:
        await sock.init(admin)
        op = await sock.subscribe(JOB_BY_ID, jobId=_global("Job", job.id))
        assert (await sock.message(op))["type"] == "next"
        # Now the client reads nothing while events pour in (`b` buffers 8 per subscriber).
        sent = 0
        while "1013 " + TOO_SLOW_REASON not in stack.b.log():
            assert sent < 2000, f"the server never dropped the slow subscriber ({stack.b.log()[-3000:]})"
            for _ in range(10):
                sent += 1
                job.sequence, job.message = sent, secrets.token_hex(32 * 1024)
                await publish(redis, [job_channel(job.id)], job_payload(job))
            await asyncio.sleep(0.05)
        closed = await asyncio.wait_for(sock.closed(), 60)
    assert (closed.code, closed.reason) == (1013, TOO_SLOW_REASON)
    # The process carries on: it is ready, and new subscriptions work.
    assert (await http.get(f"{stack.b.base_url}/readyz")).status_code == 200
    async with GraphQLSocket.open(stack.b.graphql_url) as again:
        await again.init(admin)
        assert (await again.message(await again.subscribe(JOB_BY_ID, jobId=_global("Job", job.id))))["type"] == "next"
