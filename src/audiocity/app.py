"""The ASGI application: GraphQL at /graphql beside a few plain routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from audiocity import downloads, gc_tuning, jobs, migrate
from audiocity.auth.tokens import InvalidToken, decode_access_token
from audiocity.config import Settings, get_settings
from audiocity.db import make_engine, make_sessionmaker
from audiocity.events import EventBus
from audiocity.graphql.context import Context, Resources
from audiocity.graphql.front import GraphQLFront
from audiocity.graphql.schema import build_schema
from audiocity.graphql.sockets import LegacyWSHandler, TransportWSHandler
from audiocity.observability import RequestContextMiddleware, metrics
from audiocity.runtime import database_url, redis_url
from audiocity.storage import get_storage
from audiocity.storage.local import LocalStorage
from audiocity.storage.routes import file_routes
from audiocity.storage.upload_routes import upload_routes
from audiocity.webhooks import stripe_webhook

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    """GraphQL over HTTP and WebSocket; a socket authenticates once, from `connection_init`.

    The socket handlers (graphql/sockets.py) add server pings, closing when the token expires and
    dropping subscribers that fall behind.
    """

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, resources: Resources) -> None:
        interval = resources.settings.ws_keep_alive_seconds
        super().__init__(
            build_schema(),
            keep_alive=interval > 0,
            keep_alive_interval=interval,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            multipart_uploads_enabled=True,
        )
        self.resources = resources

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(resources=self.resources, request=request)

    async def on_ws_connect(self, context: Context) -> Any:
        """Refuse a socket whose `connection_init` carries a bad token; no token means anonymous."""
        token = context.bearer_token()
        if token:
            try:
                decode_access_token(self.resources.secret, token)
            except InvalidToken:
                raise ConnectionRejectionError({"reason": "The access token is invalid or expired."}) from None
        return await super().on_ws_connect(context)


class State:
    resources: Resources | None = None


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    state = State()
    secret = settings.resolved_secret_key()
    storage = get_storage(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db_url = await asyncio.to_thread(database_url, settings)
        await asyncio.to_thread(migrate.upgrade, db_url)
        engine = make_engine(db_url)
        broker_url = await asyncio.to_thread(redis_url, settings)
        jobs.make_broker(broker_url)
        events = EventBus(broker_url)
        await events.start()
        state.resources = Resources(
            settings=settings,
            sessions=make_sessionmaker(engine),
            storage=storage,
            events=events,
            secret=secret,
        )
        graphql_app.resources = state.resources
        app.state.resources = state.resources  # plain routes reach shared resources through the app
        gc_tuning.tune_after_startup()
        log.info("AudioCity ready on %s/graphql", settings.base_url)
        try:
            yield
        finally:
            await events.stop()
            await engine.dispose()

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        res = state.resources
        if res is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with res.sessions() as s:
                await asyncio.wait_for(s.execute(text("SELECT 1")), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await asyncio.wait_for(res.events.client.ping(), 3)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)

    graphql_app = GraphQLApp(Resources(settings, None, storage, None, secret))  # type: ignore[arg-type]
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", GraphQLFront(graphql_app, lambda: state.resources), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *upload_routes(storage),  # local storage only: resumable uploads, the GCS way
        Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
    ]
    guard = downloads.Downloads(lambda: state.resources)  # entitlement on every use, and the audit
    routes.append(Route("/bundles/{audiobook_id}", guard.bundle, methods=["GET", "HEAD"], name="bundle"))
    if isinstance(storage, LocalStorage):
        routes.append(Mount("", routes=file_routes(storage, authorize=guard.authorize, on_served=guard.record)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware)
    return app
