"""The viewer is resolved once per request, even when sibling fields ask for it at the same time."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.context import Context
from audiocity.graphql.schema import build_schema
from audiocity.models import Role
from audiocity.services import accounts, catalog
from audiocity.services.catalog import AudiobookInput
from tests.app_resources import in_process_resources

SECRET = "viewer-test-secret"


def request_with(token: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": [
        (b"authorization", f"Bearer {token}".encode())]})  # fmt: skip


async def test_sibling_fields_see_the_same_viewer(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    title = f"Draft {uuid.uuid4()}"
    async with session_scope(sessions) as s:
        admin = await accounts.create_user(s, f"{uuid.uuid4()}@example.com", "admin password", "A", Role.ADMIN)
        await catalog.create_audiobook(s, AudiobookInput(title=title, price_cents=100))
    resources = in_process_resources(sessions, tmp_path, SECRET)
    token = create_access_token(SECRET, admin.id, admin.role.value, 60)
    result = await build_schema().execute(
        f'{{ me {{ role }} audiobooks(first: 5, search: "{title}") {{ edges {{ node {{ title published }} }} }} }}',
        context_value=Context(resources=resources, request=request_with(token)),
    )
    assert result.errors is None
    assert result.data is not None
    assert result.data["me"]["role"] == "ADMIN"
    assert [e["node"] for e in result.data["audiobooks"]["edges"]] == [{"title": title, "published": False}]
