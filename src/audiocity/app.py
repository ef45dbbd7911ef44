"""The ASGI application: assembles GraphQL at /graphql and the plain routes of `audiocity.http`.

The lifespan builds the application container (`audiocity.resources`) once; every route and
resolver takes what it needs from it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import dramatiq
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from audiocity import gc_tuning
from audiocity.auth.tokens import InvalidToken
from audiocity.config import Settings, get_settings
from audiocity.graphql.context import Context
from audiocity.graphql.front import GraphQLFront
from audiocity.graphql.schema import build_schema
from audiocity.graphql.sockets import LegacyWSHandler, TransportWSHandler
from audiocity.http import bundles
from audiocity.http.container import resources
from audiocity.http.files import file_routes
from audiocity.http.health import health_routes
from audiocity.http.metrics import metrics_routes
from audiocity.http.uploads import upload_routes
from audiocity.http.webhooks import webhook_routes
from audiocity.observability import RequestContextMiddleware
from audiocity.resources import open_app_resources
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

    def __init__(self, settings: Settings) -> None:
        interval = settings.ws_keep_alive_seconds
        super().__init__(
            build_schema(),
            keep_alive=interval > 0,
            keep_alive_interval=interval,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            multipart_uploads_enabled=True,
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(resources=resources(request), request=request)

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

    graphql_app = GraphQLApp(settings)
    routes: list[BaseRoute] = [
        *health_routes(),
        *metrics_routes(),
        Route("/graphql", GraphQLFront(graphql_app), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *upload_routes(storage),  # local storage only: resumable uploads, the GCS way
        *webhook_routes(),
        *bundles.bundle_routes(),
    ]
    if isinstance(storage, LocalStorage):  # entitlement on every use, and the audit
        routes.append(Mount("", routes=file_routes(storage, authorize=bundles.authorize, on_served=bundles.record)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.resources = None
    app.add_middleware(RequestContextMiddleware)
    return app
