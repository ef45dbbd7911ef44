"""Subscription sockets: keep-alive pings, closing when the access token expires, dropping slow clients.

Close codes follow the GraphQL over WebSocket protocol (`graphql-transport-ws`): 4403 Forbidden when
the token from `connection_init` expires (clients like graphql-ws reconnect on 4403 and send a fresh
token; 4401 means "subscribed before connection_ack" and is a client bug, not an auth state). The
legacy `graphql-ws` protocol defines no close codes: there an expiry sends `connection_error` and
closes with 1011, as its reference server does when it rejects a connection.

A subscriber that falls too far behind is closed with 1013 Try Again Later: reconnecting clients
resubscribe and get a fresh snapshot, which is all a client that far behind can use.

Each operation a socket starts takes a token of the client's operations budget
(`graphql/operations_limit.py`); with none left it gets a `RATE_LIMITED` error for its id.

Limits (settings `WS_*`): a client address holds at most so many sockets per process (more are
closed with 4429 at once); an anonymous socket that runs no operation for a while is closed with
4408; an operation beyond the per-socket cap gets a `TOO_MANY_SUBSCRIPTIONS` error for its id. A
signed-in socket reads its account again every few seconds: a deleted account's socket is closed
(4403, or `connection_error` and 1011 on the legacy protocol), and when the role changed each
subscription is told to check its rights again (`RECHECK`), so a demoted admin's `jobUpdates` ends
with FORBIDDEN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage, OperationMessage, StartMessage

from audiocity.auth.tokens import InvalidToken
from audiocity.events import Subscription as EventSubscription
from audiocity.graphql.context import Context
from audiocity.graphql.errors import with_request_id
from audiocity.graphql.operations_limit import operations_refused
from audiocity.metrics import SUBSCRIPTIONS, operation_label

log = logging.getLogger(__name__)

FORBIDDEN = 4403
LEGACY_AUTH_FAILED = 1011
TRY_AGAIN_LATER = 1013
TOKEN_EXPIRED_REASON = "Forbidden: the access token expired"
TOO_SLOW_REASON = "Subscriber fell too far behind; subscribe again for a fresh snapshot"
TOO_MANY_SOCKETS = 4429
TOO_MANY_SOCKETS_REASON = "Too many sockets from this address"
IDLE = 4408
IDLE_REASON = "Closed: an anonymous socket with no subscription"
ACCOUNT_GONE_REASON = "Forbidden: the account no longer exists"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"

# Delivered to a socket's subscriptions when its account's role changed: check your rights again.
RECHECK: dict[str, Any] = {"type": "recheck"}

# The transport registers its closer on the connection's state; subscriptions call it to drop a socket.
_CLOSER = "audiocity_close_socket"
_LIVE = "audiocity_live_subscriptions"

Closer = Callable[[int, str], None]


def socket_closer(conn: HTTPConnection) -> Closer | None:
    """How to close the socket a subscription runs on (None outside a subscription socket)."""
    closer = getattr(conn.state, _CLOSER, None)
    return closer if callable(closer) else None


@contextlib.contextmanager
def live(conn: HTTPConnection, sub: EventSubscription) -> Iterator[None]:
    """While a subscription runs, its socket may tell it to check its rights again (`RECHECK`)."""
    subs: set[EventSubscription] | None = getattr(conn.state, _LIVE, None)
    if subs is None:
        yield
        return
    subs.add(sub)
    try:
        yield
    finally:
        subs.discard(sub)


def too_many_subscriptions(limit: int) -> GraphQLError:
    return GraphQLError(
        f"At most {limit} operations can run at once on one socket.", extensions={"code": TOO_MANY_SUBSCRIPTIONS}
    )


class SocketCounter:
    """Open sockets per client address in this process (each API process counts its own)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        held = self._open.get(address, 0)
        if self.limit > 0 and held >= self.limit:
            return False
        self._open[address] = held + 1
        return True

    def release(self, address: str) -> None:
        held = self._open.get(address, 0) - 1
        if held > 0:
            self._open[address] = held
        else:
            self._open.pop(address, None)


def _token_expiry(context: Context) -> datetime | None:
    token = context.bearer_token()
    if not token:
        return None
    try:
        return context.resources.tokens.decode(token).expires_at
    except InvalidToken:
        return None  # on_ws_connect has already refused it


def _tag_errors(message: Any, request_id: str | None) -> None:
    """Errors sent on a socket carry the id of the request that opened it, like HTTP answers."""
    payload = message.get("payload") if isinstance(message, dict) else None
    if message.get("type") == "error":  # a list (graphql-transport-ws) or one error (legacy)
        with_request_id(payload if isinstance(payload, list) else [payload], request_id)
    elif isinstance(payload, dict):
        with_request_id(payload.get("errors"), request_id)


def _request_id(context: Context) -> str | None:
    return getattr(context.request.state, "request_id", None)


_OPERATION_NAME = re.compile(r"\s*(?:#[^\n]*\n\s*)*(?:subscription|query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")


@contextlib.contextmanager
def counted(operation_name: str | None, query: str) -> Iterator[None]:
    """An operation running on a socket (a subscription, almost always) for its whole life."""
    if not operation_name:  # clients often leave it out; the document names it
        named = _OPERATION_NAME.match(query)
        operation_name = named.group(1) if named else None
    gauge = SUBSCRIPTIONS.labels(operation_label(operation_name))
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


class _SocketSession:
    """What both protocols share: background tasks tied to the socket, and one close."""

    def __init__(self, context: Context, close: Callable[[int, str], Any], operations: Callable[[], int]) -> None:
        self.context = context
        self._close = close
        self._operations = operations
        self.closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.subscriptions: set[EventSubscription] = set()
        setattr(context.request.state, _CLOSER, self.close_soon)
        setattr(context.request.state, _LIVE, self.subscriptions)
        idle = context.settings.ws_idle_anonymous_seconds
        if idle > 0:
            self._spawn(self._close_when_idle(idle))

    def start(
        self,
        expired: Callable[[], Any],
        ping: Callable[[], Any] | None,
        interval: float | None,
        account_gone: Callable[[], Any],
    ) -> None:
        """After `connection_init` was accepted: the token's timers and the account re-check."""
        expires_at = _token_expiry(self.context)
        if expires_at is not None or (ping is not None and interval):
            self._spawn(self._watch(expires_at, expired, ping, interval))
        every = self.context.settings.ws_auth_recheck_seconds
        if self.context.bearer_token() and every > 0:
            self._spawn(self._recheck(every, account_gone))

    async def _close_when_idle(self, idle: float) -> None:
        """Anonymous sockets (or sockets not yet initialised) must run something to stay open."""
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        step = min(idle, 1.0) / 2
        while not self.closing:
            await asyncio.sleep(step)
            if self.context.bearer_token() is not None:
                return  # signed in: the token's expiry bounds it
            if self._operations():
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= idle:
                await self.close(IDLE, IDLE_REASON)
                return

    async def _recheck(self, every: float, account_gone: Callable[[], Any]) -> None:
        """Read the account again every few seconds: deleted closes the socket, a new role re-checks."""
        user = await self.context.viewer()
        role = user.role if user is not None else None
        while not self.closing:
            await asyncio.sleep(every)
            try:
                user = await self.context.refresh_viewer()
            except Exception:  # the database is away: keep the last answer, try again next time
                log.warning("could not re-check a socket's account", exc_info=True)
                continue
            if user is None:
                expires_at = _token_expiry(self.context)
                if expires_at is None or datetime.now(UTC) >= expires_at:
                    return  # the token expired, not the account: the expiry timer closes with its own reason
                await account_gone()
                return
            if user.role != role:
                role = user.role
                for sub in list(self.subscriptions):
                    sub.deliver(RECHECK)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(
        self,
        expires_at: datetime | None,
        expired: Callable[[], Any],
        ping: Callable[[], Any] | None,
        interval: float | None,
    ) -> None:
        """One task per socket for both timers: the token's expiry and the next ping."""
        loop = asyncio.get_running_loop()
        deadline = None
        if expires_at is not None:
            deadline = loop.time() + (expires_at - datetime.now(UTC)).total_seconds()
        every = interval if ping is not None and interval else None
        while not self.closing:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                await expired()
                return
            if every is None:
                assert left is not None
                await asyncio.sleep(left)
                continue
            if left is not None and left < every:
                await asyncio.sleep(left)
                continue
            await asyncio.sleep(every)
            if deadline is None or loop.time() < deadline:
                assert ping is not None
                await ping()

    def close_soon(self, code: int, reason: str) -> None:
        """Close from synchronous code (the event bus); the close waits for the socket to take it."""
        if not self.closing:
            self._spawn(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        log.info("closing subscription socket: %s %s", code, reason)
        with contextlib.suppress(Exception):
            await self._close(code, reason)

    async def stop(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with server pings and token expiry."""

    session: _SocketSession | None = None

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self.session = _SocketSession(self.context, self.websocket.close, lambda: len(self.operations))

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.session is not None and not self.session.closing:
            interval = self.view.keep_alive_interval if self.view.keep_alive else None
            self.session.start(self._expired, self._ping, interval, self._account_gone)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Over the cap: an `error` for that operation id (the protocol's answer), the socket stays open."""
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = too_many_subscriptions(limit)
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        if self.connection_acknowledged and message["id"] not in self.operations:
            refused = await operations_refused(self.context.resources, self.context.client_address())
            if refused is not None:
                await self.send_message({"id": message["id"], "type": "error", "payload": [refused.formatted]})
                return
        await super().handle_subscribe(message)

    async def _expired(self) -> None:
        assert self.session is not None
        await self.session.close(FORBIDDEN, TOKEN_EXPIRED_REASON)

    async def _account_gone(self) -> None:
        assert self.session is not None
        await self.session.close(FORBIDDEN, ACCOUNT_GONE_REASON)

    async def _ping(self) -> None:
        await self.send_message({"type": "ping"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        with counted(operation.operation_name, operation.query):
            await super().run_operation(operation)

    async def send_message(self, message: Message) -> None:
        if self.session is not None and self.session.closing:
            return
        _tag_errors(message, _request_id(self.context))
        with contextlib.suppress(WebSocketDisconnected):
            await super().send_message(message)

    async def shutdown(self) -> None:
        if self.session is not None:
            self.session.closing = True
            await self.session.stop()
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol (keep-alive `ka` comes from strawberry) with token expiry."""

    session: _SocketSession | None = None

    async def handle(self) -> None:
        self.session = _SocketSession(self.context, self.websocket.close, lambda: len(self.tasks))
        await super().handle()

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.session is not None and not self.session.closing:
            self.session.start(self._expired, None, None, self._account_gone)

    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.tasks
            and len(self.tasks) >= limit
        ):
            error = ErrorMessage(type="error", id=message["id"], payload=too_many_subscriptions(limit).formatted)
            await self.send_message(error)
            return
        if self.connection_acknowledged and message["id"] not in self.tasks:
            refused = await operations_refused(self.context.resources, self.context.client_address())
            if refused is not None:
                await self.send_message(ErrorMessage(type="error", id=message["id"], payload=refused.formatted))
                return
        await super().handle_start(message)

    async def _expired(self) -> None:
        assert self.session is not None
        await self.send_message({"type": "connection_error", "payload": {"message": "The access token expired."}})
        await self.session.close(LEGACY_AUTH_FAILED, "access token expired")

    async def _account_gone(self) -> None:
        assert self.session is not None
        await self.send_message({"type": "connection_error", "payload": {"message": "The account no longer exists."}})
        await self.session.close(LEGACY_AUTH_FAILED, "account no longer exists")

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        with counted(operation_name, query):
            await super().handle_async_results(operation_id, query, operation_name, variables)

    async def send_message(self, message: OperationMessage) -> None:
        if self.session is not None and self.session.closing:
            return
        _tag_errors(message, _request_id(self.context))
        with contextlib.suppress(WebSocketDisconnected):
            await super().send_message(message)

    async def cleanup(self) -> None:
        if self.session is not None:
            self.session.closing = True
            await self.session.stop()
        await super().cleanup()
