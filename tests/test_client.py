"""The generated typed client (client/audiocity_client) matches the schema and works against a real server."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from audiocity_client import AudiobookInput, AudioCityClient, RegisterInput
from audiocity_client.base_model import Upload
from audiocity_client.enums import JobStatus, Role
from audiocity_client.exceptions import GraphQLClientGraphQLMultiError

from tests.conftest import FIXTURES
from tests.e2e.server import Server, run_server

ROOT = Path(__file__).resolve().parents[1]
CODEGEN = "ariadne-codegen==0.19.0"  # keep in step with the Makefile's `client` target


def test_the_operations_cover_every_root_field() -> None:
    """The client is the frontend's whole API: every query, mutation and subscription has an operation."""
    from graphql import OperationDefinitionNode, parse

    from audiocity.graphql.schema import build_schema

    schema = build_schema()._schema
    wanted = {
        (kind, name)
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
        if root is not None
        for name in root.fields
    }
    covered = set()
    for path in sorted((ROOT / "client" / "operations").glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, OperationDefinitionNode):
                kind = definition.operation.value
                covered |= {
                    (kind, sel.name.value) for sel in definition.selection_set.selections if hasattr(sel, "name")
                }
    assert sorted(wanted - covered) == [], "add an operation to client/operations for each of these"


def test_generated_client_is_up_to_date(tmp_path: Path) -> None:
    work = tmp_path / "client"
    shutil.copytree(ROOT / "client", work, ignore=shutil.ignore_patterns("audiocity_client", "__pycache__"))
    shutil.copy(ROOT / "schema.graphql", tmp_path / "schema.graphql")
    # The generator pins an older graphql-core than the server, so it runs in its own uv tool environment.
    uv = Path(sys.executable).with_name("uv")
    subprocess.run(
        [str(uv), "tool", "run", "--quiet", "--from", CODEGEN, "ariadne-codegen", "--config", "codegen.toml"],
        cwd=work, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    fresh, committed = work / "audiocity_client", ROOT / "client" / "audiocity_client"
    names = sorted(p.name for p in fresh.glob("*.py"))
    assert names == sorted(p.name for p in committed.glob("*.py")), "run `make client`"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, names, shallow=False)
    assert mismatch == [] and errors == [], f"run `make client`: {mismatch or errors}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("client-app"), database_url, redis_url) as running:
        yield running


async def test_typed_client_drives_the_admin_flow(server: Server) -> None:
    email = f"client-admin-{time.monotonic_ns()}@example.com"
    assert server.cli("create-admin", "--email", email, "--password", "admin password 1").returncode == 0
    async with AudioCityClient(server.graphql_url) as anon:
        customer_email = f"c{time.monotonic_ns()}@example.com"
        registered = await anon.register(RegisterInput(email=customer_email, password="pw1234567"))
        assert registered.register.errors == [] and registered.register.user is None  # sign in with login
        customer = await anon.login(email=customer_email, password="pw1234567")
        assert customer.login.user is not None and customer.login.user.role == Role.CUSTOMER
        login = await anon.login(email=email, password="admin password 1")
        assert login.login.access_token is not None
        with pytest.raises(GraphQLClientGraphQLMultiError) as denied:
            await anon.me()
        assert (denied.value.errors[0].extensions or {}).get("code") == "UNAUTHENTICATED"  # plus its request_id

    token = login.login.access_token
    async with AudioCityClient(
        server.graphql_url,
        headers={"Authorization": f"Bearer {token}"},
        ws_url=server.ws_url,
        ws_connection_init_payload={"Authorization": f"Bearer {token}"},
    ) as admin:
        assert (await admin.me()).me.role == Role.ADMIN
        created = await admin.create_audiobook(AudiobookInput(title="Typed Client", priceCents=499))
        assert created.create_audiobook.audiobook is not None
        book_id = created.create_audiobook.audiobook.id

        speech = FIXTURES / "speech" / "river.mp3"
        with speech.open("rb") as fh:
            uploaded = await admin.upload_audio_file(book_id, Upload("river.mp3", fh, "audio/mpeg"))
        assert uploaded.upload_audio_file.errors == [] and uploaded.upload_audio_file.job is not None
        statuses = [
            event.job_updates.status async for event in admin.job_updates(job_id=uploaded.upload_audio_file.job.id)
        ]
        assert statuses[-1] == JobStatus.SUCCEEDED

        book = (await admin.audiobook(book_id)).audiobook
        assert book is not None and [f.file_name for f in book.files] == ["river.mp3"]
        assert len(book.tags) == 3
