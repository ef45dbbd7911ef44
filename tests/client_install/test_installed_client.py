"""`pip install ./client` into a fresh venv, then drive the real server with the installed package only."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.e2e.server import Server, run_server

ROOT = Path(__file__).resolve().parents[2]
TOKEN_TTL = 20  # short, so the run outlives its access tokens and has to refresh them
ALL_OPERATIONS = {
    "add_to_cart", "audiobook", "audiobook_page", "audiobooks", "cancel_upload", "cart", "categories", "checkout",
    "clear_cart", "complete_upload", "create_audiobook", "delete_audio_file", "delete_audiobook", "download_stats",
    "grant_audiobook", "job", "job_updates", "jobs", "library", "login", "logout", "me", "node", "order",
    "order_updates", "orders", "publish_audiobook", "refresh_token", "refund_order", "register", "remove_from_cart",
    "reorder_audio_files", "save_progress", "set_user_role", "start_transcription", "start_upload", "sync",
    "update_audiobook", "upload_audio_file",
}  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the client installed from ./client (its dependencies from the package index)."""
    venv = tmp_path_factory.mktemp("client-venv") / "venv"
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), str(ROOT / "client")], check=True, timeout=600
    )
    return python


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(
        tmp_path_factory.mktemp("installed-client-app"),
        database_url,
        redis_url,
        ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL),
    ) as running:
        yield running


def test_the_package_installs_alone(installed: Path) -> None:
    shown = subprocess.run([str(installed), "-m", "pip", "--version"], capture_output=True, timeout=60)
    found = subprocess.run(
        [str(installed), "-c", "import audiocity_client, audiocity; "],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )
    assert "No module named 'audiocity'" in found.stderr, "only the client is installed, not the server"
    del shown


def test_every_operation_from_the_installed_client(installed: Path, server: Server) -> None:
    email = f"installed-admin-{time.monotonic_ns()}@example.com"
    assert server.cli("create-admin", "--email", email, "--password", "admin password 1").returncode == 0
    run = subprocess.run(
        [str(installed), str(ROOT / "tests" / "client_install" / "exercise.py"), server.graphql_url, email,
         "admin password 1", str(FIXTURES / "speech" / "river.mp3"), str(TOKEN_TTL)],
        capture_output=True, text=True, cwd="/", timeout=840,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr + server.log()[-3000:]
    assert set(run.stdout.split()) == ALL_OPERATIONS
