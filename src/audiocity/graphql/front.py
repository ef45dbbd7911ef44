"""GraphQL over HTTP, in front of Strawberry: persisted queries, GET caching headers, the public cache.

For each `GET`/`POST` (JSON) to /graphql it resolves an APQ hash to its document, takes the client's
operations-per-minute token (`RATE_LIMIT_OPERATIONS_PER_CLIENT`; this is the one place it is taken
for HTTP, whether the answer then comes from the cache or from Strawberry, multipart uploads
included; sockets take it per operation in `graphql/sockets.py`), answers anonymous public catalog
queries from the response cache when their catalog version matches, and otherwise hands the request
(with the resolved document) to Strawberry, keeping a cacheable answer. GET
answers carry an `ETag` (the cache key, so it changes exactly when the catalog does) and
`Cache-Control`, and a matching `If-None-Match` gets `304` without running anything. Cacheable
answers say `X-Cache: HIT` or `MISS`; answers that were not eligible carry no `X-Cache`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audiocity.graphql.apq import PersistedQueries, sha256_hex
from audiocity.graphql.errors import with_request_id
from audiocity.graphql.operations_limit import operations_refused
from audiocity.graphql.response_cache import ResponseCache, cache_key
from audiocity.http_client import client_address
from audiocity.resources import AppResources
from audiocity.services import catalog, covers


def _errors(scope: Scope, errors: list[dict[str, Any]], status: int = 200, **headers: str) -> Response:
    """The front's own answers (no operation ran), with the request id like Strawberry's."""
    with_request_id(errors, scope.get("state", {}).get("request_id"))
    return JSONResponse({"errors": errors}, status_code=status, headers=headers or None)


def _not_found(scope: Scope) -> Response:
    return _errors(scope, [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}])


def _bad_request(scope: Scope, message: str) -> Response:
    return _errors(scope, [{"message": message, "extensions": {"code": "BAD_REQUEST"}}], 400)


def _json_param(value: Any) -> Any:
    """GET carries `variables` and `extensions` as JSON text; POST as JSON values."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class GraphQLFront:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._stores: tuple[PersistedQueries, ResponseCache] | None = None

    def stores(self, res: AppResources) -> tuple[PersistedQueries, ResponseCache]:
        if self._stores is None:
            redis = res.bus.client
            settings = res.settings
            self._stores = (
                PersistedQueries(redis),
                ResponseCache(redis, settings.response_cache_entries, settings.response_cache_ttl_seconds),
            )
        return self._stores

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        res: AppResources | None = getattr(scope["app"].state, "resources", None) if "app" in scope else None
        method = scope.get("method")
        headers = Headers(scope=scope)
        is_json_post = method == "POST" and headers.get("content-type", "").startswith("application/json")
        if scope["type"] != "http" or res is None or method not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        if not (method == "GET" or is_json_post):  # multipart uploads (and anything else Strawberry refuses)
            if not await self._admitted(res, scope, receive, send):
                return
            await self.app(scope, receive, send)
            return
        body = b""
        if method == "POST":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            try:
                params = json.loads(body)
            except ValueError:
                params = None
        else:
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if not isinstance(params, dict):  # batches and malformed bodies: Strawberry answers those
            if await self._admitted(res, scope, receive, send):
                await self.app(scope, _replay(body, receive), send)
            return
        await self._handle(res, scope, receive, send, headers, params, body)

    async def _handle(
        self, res: AppResources, scope: Scope, receive: Receive, send: Send, headers: Headers,
        params: dict[str, Any], body: bytes,
    ) -> None:  # fmt: skip
        persisted, cache = self.stores(res)
        document = params.get("query")
        extensions = _json_param(params.get("extensions"))
        pq = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if isinstance(pq, dict):
            digest = pq.get("sha256Hash")
            if pq.get("version") != 1 or not isinstance(digest, str):
                await _bad_request(scope, "Unsupported persisted query.")(scope, receive, send)
                return
            if isinstance(document, str):
                if sha256_hex(document) != digest:
                    await _bad_request(scope, "provided sha does not match query")(scope, receive, send)
                    return
                await persisted.register(digest, document)
            else:
                document = await persisted.lookup(digest)
                if document is None:  # not an operation yet: the client sends the document next
                    await _not_found(scope)(scope, receive, send)
                    return
                scope, body = _with_document(scope, params, document, body)
        is_get = scope["method"] == "GET"
        if not isinstance(document, str):  # a GET with no query is the IDE's page, not an operation
            if is_get or await self._admitted(res, scope, receive, send):
                await self.app(scope, _replay(body, receive), send)
            return
        # Every operation takes its token here, before the cache: a cached page is cheap, not free.
        if not await self._admitted(res, scope, receive, send):
            return

        operation_name = params.get("operationName") if isinstance(params.get("operationName"), str) else None
        document_hash = sha256_hex(document)
        key = None
        if (
            res.settings.response_cache
            and "authorization" not in headers
            and cache.is_public(document_hash, document, operation_name)
        ):
            version = await _catalog_version(res)
            window = covers.link_window(res.settings.cover_url_ttl_seconds)
            key = cache_key(version, document_hash, operation_name, _json_param(params.get("variables")), window)
        if key is not None:
            etag = f'"{key[:40]}"'
            cache_headers = {"ETag": etag}
            if is_get:
                cache_headers["Cache-Control"] = f"public, max-age={res.settings.public_max_age_seconds}"
                if etag in headers.get("if-none-match", ""):
                    await Response(status_code=304, headers=cache_headers)(scope, receive, send)
                    return
            hit = await cache.get(key)
            if hit is not None:
                hit_headers = {**cache_headers, "X-Cache": "HIT"}
                await Response(hit, media_type="application/json", headers=hit_headers)(scope, receive, send)
                return
            cache_headers["X-Cache"] = "MISS"
            await self._run_and_keep(scope, _replay(body, receive), send, cache, key, cache_headers)
            return
        await self.app(scope, _replay(body, receive), _private(send) if is_get else send)

    async def _admitted(self, res: AppResources, scope: Scope, receive: Receive, send: Send) -> bool:
        """Take the client's operations token; when it has none left, answer 429 with `Retry-After`."""
        client = client_address(HTTPConnection(scope), res.settings.trust_forwarded_for)
        refused = await operations_refused(res, client)
        if refused is None:
            return True
        retry_after = refused.extensions["retryAfter"] if refused.extensions else 1
        await _errors(scope, [dict(refused.formatted)], 429, **{"Retry-After": str(retry_after)})(scope, receive, send)
        return False

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, cache: ResponseCache, key: str, extra: dict[str, str]
    ) -> None:
        """Run the request; keep a complete, error-free 200 answer under `key`."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                assert start is not None
                payload = b"".join(chunks)
                ok = start["status"] == 200 and b'"errors"' not in payload
                if ok:
                    await cache.put(key, payload)
                    kept = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"etag", b"cache-control")]
                    start = {**start, "headers": kept + [(k.lower().encode(), v.encode()) for k, v in extra.items()]}
                await send(start)
                await send({"type": "http.response.body", "body": payload})
                return
            await send(message)

        await self.app(scope, receive, capture)


async def _catalog_version(res: AppResources) -> int:
    """From the process's LISTEN/NOTIFY watch when it is in sync; otherwise one query."""

    async def query() -> int:
        async with res.read_sessions() as s:
            return await catalog.catalog_version(s)

    return await res.catalog.current(query) if res.catalog is not None else await query()


def _with_document(scope: Scope, params: dict[str, Any], document: str, body: bytes) -> tuple[Scope, bytes]:
    """The request as Strawberry should see it: with the persisted document filled in."""
    if scope["method"] == "GET":
        query = {k: v for k, v in params.items()}
        query["query"] = document
        return {**scope, "query_string": urlencode(query).encode()}, body
    return scope, json.dumps({**params, "query": document}).encode()


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the (already read) body to the app once, then pass through disconnect notices."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _private(send: Send) -> Send:
    """GET answers that depend on the viewer must not be kept by shared caches."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", []).append((b"cache-control", b"private, no-store"))
        await send(message)

    return wrapped
