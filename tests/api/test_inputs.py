"""Malformed IDs in mutations are UserErrors; `node` resolves categories."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from audiocity.models import Role
from audiocity.services import accounts, catalog
from audiocity.services.catalog import AudiobookInput
from tests.accounts.test_viewer import SECRET, request_with
from tests.app_resources import in_process_resources


async def test_malformed_ids_in_mutations_are_user_errors(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with session_scope(sessions) as s:
        admin = await accounts.create_user(s, f"{uuid.uuid4()}@example.com", "admin password", "A", Role.ADMIN)
        category_name = f"Category {uuid.uuid4().hex[:8]}"
        await catalog.create_audiobook(s, AudiobookInput(title="Node test", price_cents=1, categories=[category_name]))
    resources = in_process_resources(sessions, tmp_path, SECRET)
    schema = build_schema()
    token = create_access_token(SECRET, admin.id, admin.role.value, 60)

    async def run(query: str) -> dict[str, object]:
        result = await schema.execute(query, context_value=Context(resources=resources, request=request_with(token)))
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    for mutation, payload, field in (
        ('addToCart(audiobookId: "not-an-id") { errors { code field } }', "addToCart", "audiobookId"),
        ('publishAudiobook(id: "bm9wZQ", published: true) { errors { code field } }', "publishAudiobook", "id"),
        ('saveProgress(audiobookId: "x", positionSeconds: 1) { errors { code field } }', "saveProgress", "audiobookId"),
    ):
        data = await run(f"mutation {{ {mutation} }}")
        assert data[payload] == {"errors": [{"code": "INVALID", "field": field}]}

    categories = await run("{ categories { id name } }")
    wanted = next(c for c in categories["categories"] if c["name"] == category_name)  # type: ignore[attr-defined]
    node = await run(f'{{ node(id: "{wanted["id"]}") {{ id ... on Category {{ name slug }} }} }}')
    assert node["node"] == {"id": wanted["id"], "name": category_name, "slug": catalog.slugify(category_name)}
