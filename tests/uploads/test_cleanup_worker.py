"""The periodic upload sweeper, running in a real server's in-process Dramatiq worker.

Short settings (sessions live 2 s, the sweep runs every second) let an abandoned upload expire
while the test watches; the test polls the database until it has, with a generous deadline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.db import session_scope
from audiocity.graphql.relay import from_global_id
from audiocity.models import Role, UploadSession, UploadStatus, User
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.uploads import resumable
from tests.uploads.test_api import CREATE_BOOK, REGISTER, START


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Server]:
    env = {"UPLOAD_SESSION_TTL_SECONDS": "2", "UPLOAD_CLEANUP_INTERVAL_SECONDS": "1", "IN_PROCESS_WORKER": "1"}
    with run_server(tmp_path_factory.mktemp("sweeper-app"), database_url, None, **env) as running:
        yield running


async def test_abandoned_upload_is_expired_by_the_worker(
    server: Server, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(http, server.graphql_url)
        email = f"sweeper-{uuid.uuid4().hex[:12]}@example.com"
        registered = (await anon(REGISTER, input={"email": email, "password": "correct horse battery",
                                                  "displayName": "Sweeper"}))["register"]  # fmt: skip
        assert registered["errors"] == []
        login = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }"""
        signed_in = (await anon(login, e=email, p="correct horse battery"))["login"]
        async with session_scope(sessions) as session:
            user_id = from_global_id(signed_in["user"]["id"])[1]
            await session.execute(update(User).where(col(User.id) == user_id).values(role=Role.ADMIN))
        admin = GraphQLClient(http, server.graphql_url, signed_in["accessToken"])
        book = (await admin(CREATE_BOOK, input={"title": "Abandoned", "priceCents": 100}))["createAudiobook"]

        size = 3 * resumable.QUANTUM
        wanted = {"audiobookId": book["audiobook"]["id"], "fileName": "gone.mp3", "contentType": "audio/mpeg"}
        started = (await admin(START, input={**wanted, "sizeBytes": size}))["startUpload"]
        assert started["errors"] == []
        upload = started["upload"]
        sent = await resumable.upload(http, upload["url"], lambda o, n: b"\0" * n, size, stop_at=resumable.QUANTUM)
        assert sent.offset == resumable.QUANTUM

    upload_id = from_global_id(upload["id"])[1]
    storage = Path(server.env["AUDIOCITY_DATA_DIR"]) / "storage"
    assert [p.name for p in storage.rglob("*") if p.is_file()] != [], "the partial upload is on disk"

    async with asyncio.timeout(60):
        while True:
            async with sessions() as session:
                row = await session.get(UploadSession, upload_id)
            assert row is not None
            if row.status is UploadStatus.EXPIRED:
                break
            await asyncio.sleep(0.2)
    assert [p.name for p in storage.rglob("*") if p.is_file()] == [], "the sweeper deleted the bytes"
    assert "workers.uploads: expired or purged" in server.log()
    assert "Traceback" not in server.log()
