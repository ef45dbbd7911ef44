"""The floor for the catalog benchmark: Starlette + asyncpg, PostgreSQL builds the whole JSON answer.

    python bench/_floor_app.py DSN PORT SECRET

It answers the benchmark's three documents (page, search, signed-in page with `owned`) with one SQL
statement each, reading `first` / `search` from the GraphQL variables and the viewer from the same
HS256 access token AudioCity issues. It is not GraphQL: it is the lower bound a GraphQL server over
the same tables could reach.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def gid(kind: str, column: str) -> str:
    return f"rtrim(translate(encode(convert_to('{kind}:' || {column}::text, 'UTF8'), 'base64'), '+/', '-_'), '=')"


MATCH = (
    "(b.search_vector @@ websearch_to_tsquery('english', $2) OR b.search_vector @@ websearch_to_tsquery('simple', $2))"
)
OWNED = "EXISTS (SELECT 1 FROM entitlements e WHERE e.user_id = $3 AND e.audiobook_id = p.id AND e.revoked_at IS NULL)"


def page_sql(owned: bool, search: bool) -> str:
    owned_field = f", 'owned', {OWNED}" if owned else ""
    match = f"AND {MATCH}" if search else "AND $2::text IS NULL"
    return f"""
WITH page AS (
  SELECT b.id, b.title, b.subtitle, b.authors, b.narrators, b.tags, b.price_cents, b.currency,
         b.duration_seconds, b.cover_url, b.created_at
  FROM audiobooks b
  WHERE b.published {match}
  ORDER BY b.created_at DESC, b.id DESC LIMIT $1
)
SELECT json_build_object('data', json_build_object('audiobooks', json_build_object(
  'totalCount', (SELECT count(*) FROM audiobooks b WHERE b.published {match}),
  'edges', coalesce(json_agg(json_build_object('node', json_build_object(
    'id', {gid("Audiobook", "p.id")}, 'title', p.title, 'subtitle', p.subtitle,
    'authors', p.authors, 'narrators', p.narrators, 'tags', p.tags,
    'price', json_build_object('amountCents', p.price_cents, 'currency', p.currency),
    'durationSeconds', p.duration_seconds, 'coverUrl', p.cover_url{owned_field},
    'categories', (SELECT coalesce(json_agg(json_build_object('name', c.name, 'slug', c.slug) ORDER BY c.name), '[]')
                   FROM audiobook_categories ac JOIN categories c ON c.id = ac.category_id
                   WHERE ac.audiobook_id = p.id),
    'files', (SELECT coalesce(json_agg(json_build_object(
                'id', {gid("AudioFile", "f.id")}, 'position', f.position, 'fileName', f.file_name,
                'contentType', f.content_type, 'sizeBytes', f.size_bytes::float8,
                'durationSeconds', f.duration_seconds) ORDER BY f.position), '[]')
              FROM audio_files f WHERE f.audiobook_id = p.id)
  )) ORDER BY p.created_at DESC, p.id DESC), '[]')
)))::text
FROM page p
"""


def build(dsn: str, secret: str) -> Starlette:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
        yield
        await state["pool"].close()

    async def graphql(request: Request) -> Response:
        body = json.loads(await request.body())
        variables = body.get("variables") or {}
        viewer = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            viewer = jwt.decode(auth[7:], secret, algorithms=["HS256"], issuer="audiocity")["sub"]
        first = int(variables.get("first", 20))
        search = variables.get("search")
        async with state["pool"].acquire() as conn:
            if viewer is not None:
                text = await conn.fetchval(page_sql(True, search is not None), first, search, viewer)
            else:
                text = await conn.fetchval(page_sql(False, search is not None), first, search)
        return Response(text, media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    dsn, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uvicorn.run(build(dsn, secret), host="127.0.0.1", port=port, log_level="warning")
