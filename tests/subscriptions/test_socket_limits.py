"""Socket limits over real WebSockets: sockets per address, idle anonymous sockets, subscriptions per
socket, and rights that follow the account while a socket stays open."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.graphql.sockets import ACCOUNT_GONE_REASON, IDLE_REASON, TOO_MANY_SOCKETS_REASON
from audiocity.models import User
from tests.e2e.client import LEGACY_WS, TRANSPORT_WS, GraphQLClient, GraphQLSocket, SocketClosed
from tests.e2e.server import Server, run_server
from tests.subscriptions.helpers import JOB_BY_ID, LOGIN_WITH_USER, PASSWORD, db_id, register, unique_email
from tests.subscriptions.test_sockets import _global, errors_of, make_job

Sessions = async_sessionmaker[AsyncSession]

SET_ROLE = """mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) {
  user { role } errors { code message } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(
        tmp_path_factory.mktemp("socket-limits"),
        database_url,
        redis_url,
        IN_PROCESS_WORKER="0",
        TRUST_FORWARDED_FOR="1",  # each test speaks from its own address
        WS_MAX_SOCKETS_PER_CLIENT="3",
        WS_IDLE_ANONYMOUS_SECONDS="1",
        WS_MAX_SUBSCRIPTIONS_PER_SOCKET="2",
        WS_AUTH_RECHECK_SECONDS="0.5",
    ) as s:
        yield s


@pytest.fixture
async def gql(server: Server) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield GraphQLClient(client, server.graphql_url)


async def new_admin(server: Server, gql: GraphQLClient) -> dict[str, Any]:
    """A fresh admin's `login` payload (token and user)."""
    email = unique_email("admin")
    made = server.cli("create-admin", "--email", email, "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    payload: dict[str, Any] = (await gql(LOGIN_WITH_USER, email=email, password=PASSWORD))["login"]
    assert payload["errors"] == [] and payload["user"]["role"] == "ADMIN", payload
    return payload


def address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


@asynccontextmanager
async def socket(server: Server, origin: str, protocol: str = TRANSPORT_WS) -> AsyncIterator[GraphQLSocket]:
    async with GraphQLSocket.open(server.graphql_url, protocol, additional_headers={"X-Forwarded-For": origin}) as sock:
        yield sock


async def answers_ping(sock: GraphQLSocket) -> bool:
    await sock.ws.send(json.dumps({"type": "ping"}))
    while True:
        if (await sock.receive())["type"] == "pong":
            return True


async def test_sockets_per_client_address_are_capped(server: Server, gql: GraphQLClient) -> None:
    admin = (await new_admin(server, gql))["accessToken"]
    crowded, other = address(), address()
    async with socket(server, crowded) as s1, socket(server, crowded) as s2, socket(server, crowded) as s3:
        for sock in (s1, s2, s3):
            assert (await sock.init(admin))["type"] == "connection_ack"
        async with socket(server, crowded) as refused:
            closed = await asyncio.wait_for(refused.closed(), 10)
        assert (closed.code, closed.reason) == (4429, TOO_MANY_SOCKETS_REASON)
        async with socket(server, other) as elsewhere:  # another address is not affected
            assert (await elsewhere.init(admin))["type"] == "connection_ack"
        assert await asyncio.wait_for(answers_ping(s1), 10), "the sockets already open stay open"
    # closed sockets give their places back
    async with socket(server, crowded) as again:
        assert (await again.init(admin))["type"] == "connection_ack"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_anonymous_sockets_that_run_nothing_are_closed(server: Server, gql: GraphQLClient, protocol: str) -> None:
    admin = (await new_admin(server, gql))["accessToken"]
    origin = address()
    async with (
        socket(server, origin, protocol) as idle,
        socket(server, origin, protocol) as silent,
        socket(server, origin, protocol) as signed_in,
    ):
        assert (await idle.init())["type"] == "connection_ack"
        await signed_in.init(admin)
        closed = await asyncio.wait_for(idle.closed(), 15)
        assert (closed.code, closed.reason) == (4408, IDLE_REASON)
        never_initialised = await asyncio.wait_for(silent.closed(), 15)
        assert (never_initialised.code, never_initialised.reason) == (4408, IDLE_REASON)
        # the signed-in socket opened with them is still open
        op = await signed_in.subscribe("subscription { __typename }")
        first = await asyncio.wait_for(signed_in.message(op), 10)
        assert first["type"] in ("next", "data", "error"), first


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_subscriptions_per_socket_are_capped(
    server: Server, gql: GraphQLClient, sessions: Sessions, protocol: str
) -> None:
    admin = (await new_admin(server, gql))["accessToken"]
    jobs = [_global("Job", (await make_job(sessions)).id) for _ in range(3)]
    async with socket(server, address(), protocol) as sock:
        await sock.init(admin)
        running = [await sock.subscribe(JOB_BY_ID, jobId=j) for j in jobs[:2]]
        for op in running:
            assert (await asyncio.wait_for(sock.message(op), 10))["type"] in ("next", "data")
        third = await sock.subscribe(JOB_BY_ID, jobId=jobs[2])
        refused = await asyncio.wait_for(sock.message(third), 10)
        assert refused["type"] == "error"
        [error] = errors_of(refused)
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS", error
        # the socket stays open, and a finished subscription frees its place
        await sock.stop(running[0])
        await asyncio.sleep(0.2)
        again = await sock.subscribe(JOB_BY_ID, jobId=jobs[2])
        assert (await asyncio.wait_for(sock.message(again), 10))["type"] in ("next", "data")


async def test_a_demoted_admin_loses_job_updates_within_seconds(
    server: Server, gql: GraphQLClient, sessions: Sessions
) -> None:
    demoted, other = await new_admin(server, gql), await new_admin(server, gql)
    job = _global("Job", (await make_job(sessions)).id)
    async with socket(server, address()) as sock:
        await sock.init(demoted["accessToken"])
        op = await sock.subscribe(JOB_BY_ID, jobId=job)
        assert (await asyncio.wait_for(sock.message(op), 10))["type"] == "next"

        gql.token = other["accessToken"]
        changed = (await gql(SET_ROLE, id=demoted["user"]["id"], role="CUSTOMER"))["setUserRole"]
        assert changed["errors"] == [] and changed["user"]["role"] == "CUSTOMER", changed

        ended = await asyncio.wait_for(sock.message(op), 10)
        assert [e["extensions"]["code"] for e in errors_of(ended)] == ["FORBIDDEN"]
        assert (await asyncio.wait_for(sock.message(op), 10))["type"] == "complete"
        # the socket itself stays open (the account still exists), but admin subscriptions are refused
        again = await sock.subscribe(JOB_BY_ID, jobId=job)
        refused = await asyncio.wait_for(sock.message(again), 10)
        assert [e["extensions"]["code"] for e in errors_of(refused)] == ["FORBIDDEN"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_deleting_an_account_closes_its_sockets(
    server: Server, gql: GraphQLClient, sessions: Sessions, protocol: str
) -> None:
    customer = await register(gql, "leaving")
    async with socket(server, address(), protocol) as sock:
        assert (await sock.init(customer["accessToken"]))["type"] == "connection_ack"
        async with sessions() as s:
            await s.execute(delete(User).where(User.id == db_id(customer["user"]["id"])))  # type: ignore[arg-type]
            await s.commit()
        control: list[dict[str, Any]] = []

        async def until_closed() -> SocketClosed:
            while True:
                try:
                    message = await sock.receive()
                except SocketClosed as closed:
                    return closed
                if message.get("id") is None and message["type"] not in ("ping", "pong", "ka"):
                    control.append(message)

        closed = await asyncio.wait_for(until_closed(), 10)
    if protocol == TRANSPORT_WS:
        assert (closed.code, closed.reason) == (4403, ACCOUNT_GONE_REASON)
    else:
        assert closed.code == 1011
        assert control == [{"type": "connection_error", "payload": {"message": "The account no longer exists."}}]
