"""The ASGI application: assembles GraphQL at /graphql and the plain routes of `audiocity.http`.

The lifespan builds the application container (`audiocity.resources`) once; every route and
resolver takes what it needs from it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import dramatiq
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from audiocity import gc_tuning, tracing
from audiocity.auth.tokens import InvalidToken
from audiocity.config import Settings, get_settings
from audiocity.config_checks import check_settings
from audiocity.graphql.context import Context
from audiocity.graphql.errors import with_request_id
from audiocity.graphql.front import GraphQLFront
from audiocity.graphql.schema import build_schema
from audiocity.graphql.sockets import (
    TOO_MANY_SOCKETS,
    TOO_MANY_SOCKETS_REASON,
    LegacyWSHandler,
    SocketCounter,
    TransportWSHandler,
)
from audiocity.http import bundles, graphiql
from audiocity.http.admin import admin_routes
from audiocity.http.bucket_files import bucket_file_routes
from audiocity.http.container import resources
from audiocity.http.cors import add_cors, parse_origins
from audiocity.http.files import file_routes
from audiocity.http.google import google_routes
from audiocity.http.health import health_routes
from audiocity.http.limits import RequestLimitsMiddleware
from audiocity.http.metrics import metrics_routes
from audiocity.http.previews import preview_routes
from audiocity.http.uploads import upload_routes
from audiocity.http.webhooks import webhook_routes
from audiocity.http_client import client_address
from audiocity.models import Role
from audiocity.observability import RequestContextMiddleware
from audiocity.resources import open_app_resources
from audiocity.services.accounts import get_user
from audiocity.storage import get_storage
from audiocity.storage.local import LocalStorage

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    """GraphQL over HTTP and WebSocket; a socket authenticates once, from `connection_init`.

    The socket handlers (graphql/sockets.py) add server pings, closing when the token expires and
    dropping subscribers that fall behind.
    """

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings, tracing: bool = False) -> None:
        interval = settings.ws_keep_alive_seconds
        super().__init__(
            build_schema(settings, tracing),
            graphql_ide=None if settings.production else "graphiql",
            keep_alive=interval > 0,
            keep_alive_interval=interval,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            multipart_uploads_enabled=True,
            allowed_origins=parse_origins(settings.cors_origins),  # WebSocket Origin check
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_socket or None,
        )
        self.trust_forwarded_for = settings.trust_forwarded_for
        self.sockets = SocketCounter(settings.ws_max_sockets_per_client)

    def encode_json(self, data: object) -> str:
        """orjson: a catalog page is ~80 KB of JSON, which the standard library takes ~1 ms to write.
        A str, not bytes: sockets send what this returns, and a protocol frame must be text.

        orjson refuses integers beyond 64 bits, which JSON allows and an answer can hold (the cost of
        a refused document, `extensions.cost.requested`): those answers are written by the standard
        library, in the same compact form."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page(self.graphql_ide_html)  # assets from this app, not a CDN

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(resources=resources(request), request=request, response=response)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Close a multipart form's spooled files once the request is answered, whatever happened.

        A socket beyond its client address's cap is accepted and closed at once with 4429 and a reason
        (closing before the handshake would only give the client an HTTP 403 without one)."""
        if isinstance(request, WebSocket):
            address = client_address(request, self.trust_forwarded_for)
            if not self.sockets.acquire(address):
                await request.accept(subprotocol=await self.pick_websocket_subprotocol(request))
                await request.close(TOO_MANY_SOCKETS, TOO_MANY_SOCKETS_REASON)
                return request
            try:
                return await super().run(request, context, root_value)
            finally:
                self.sockets.release(address)
        try:
            return await super().run(request, context, root_value)
        finally:
            if isinstance(request, Request):
                await request.close()

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Errors carry the request id, so a client's report leads to the server's log lines."""
        response = await super().process_result(request, result)
        with_request_id(response.get("errors"), getattr(request.state, "request_id", None))
        return response

    async def on_ws_connect(self, context: Context) -> Any:
        """Refuse a socket whose `connection_init` carries a bad token; no token means anonymous."""
        token = context.bearer_token()
        if token:
            try:
                context.resources.tokens.decode(token)
            except InvalidToken:
                raise ConnectionRejectionError({"reason": "The access token is invalid or expired."}) from None
        return await super().on_ws_connect(context)


def create_app(settings: Settings | None = None, broker: dramatiq.Broker | None = None) -> Starlette:
    """The app; `broker` is the one an in-process worker already made (`audiocity serve`)."""
    settings = settings or get_settings()
    check_settings(settings)  # refuse unsafe settings before anything else
    secret = settings.resolved_secret_key()
    storage = get_storage(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_app_resources(settings, storage, broker) as container:
            app.state.resources = container
            gc_tuning.tune_after_startup()
            log.info("AudioCity ready on %s/graphql", settings.base_url)
            try:
                yield
            finally:
                app.state.resources = None

    graphql_app = GraphQLApp(settings, tracing=tracing.setup_tracing("audiocity-api"))
    routes: list[BaseRoute] = [
        *health_routes(),
        *metrics_routes(settings),
        Route("/graphql", GraphQLFront(graphql_app), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *graphiql.asset_routes(),
        *admin_routes(),
        *upload_routes(storage),  # local storage only: resumable uploads, the GCS way
        *webhook_routes(),
        *bundles.bundle_routes(),
        *preview_routes(),
        *google_routes(settings),
    ]
    if isinstance(storage, LocalStorage):  # entitlement on every use, and the audit
        routes.append(Mount("", routes=file_routes(storage, authorize=bundles.authorize, on_served=bundles.record)))
    elif settings.download_mode == "proxy":  # a bucket whose links the app serves itself
        files = bucket_file_routes(
            storage, settings.resolved_secret_key(), authorize=bundles.authorize, on_served=bundles.record
        )
        routes.append(Mount("", routes=files))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.resources = None

    async def is_admin(user_id: uuid.UUID) -> bool:
        container = app.state.resources
        if container is None:
            return False
        async with container.sessions() as s:
            user = await get_user(s, user_id)
        return user is not None and user.role == Role.ADMIN

    app.add_middleware(
        RequestLimitsMiddleware,
        path="/graphql",
        max_body_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_inline_upload_bytes,
        secret=lambda: secret,
        is_admin=is_admin,
    )
    app.add_middleware(RequestContextMiddleware)
    tracing.instrument_app(app)
    add_cors(app, parse_origins(settings.cors_origins), settings.cors_max_age)
    return app
