"""Every example under "Examples to copy" in docs/api.md runs, in order, against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.e2e.server import Server, run_server

ROOT = Path(__file__).resolve().parents[1]
SECTION = re.compile(r"^## Examples to copy$(.*?)(?=^## )", re.M | re.S)
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)

pytestmark = pytest.mark.timeout(900)


def examples() -> list[str]:
    section = SECTION.search((ROOT / "docs" / "api.md").read_text())
    assert section is not None, "docs/api.md lost its examples section"
    return BLOCK.findall(section.group(1))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("docs-app"), database_url, redis_url) as running:
        yield running


def test_the_examples_cover_each_task() -> None:
    script = "\n".join(examples())
    for call in ("sign_in", "audiobooks(", "search=", "upload_audio_file", "upload_file", "checkout", "job_updates",
                 "order_updates"):  # fmt: skip
        assert call in script, call


def test_every_example_runs(server: Server, tmp_path: Path) -> None:
    email = f"docs-admin-{time.monotonic_ns()}@example.com"
    assert server.cli("create-admin", "--email", email, "--password", "admin password 1").returncode == 0
    script = tmp_path / "examples.py"
    script.write_text("\n\n".join(examples()))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "client"),
        "AUDIOCITY_URL": server.graphql_url,
        "ADMIN_EMAIL": email,
        "ADMIN_PASSWORD": "admin password 1",
        "AUDIO_FILE": str(FIXTURES / "speech" / "lighthouse.mp3"),
    }
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "signed in as docs-admin-" in out and "resumable upload added lighthouse.mp3" in out
    assert re.search(r"^SUCCEEDED\s+DONE\s+100%$", out, re.M), out
    assert (
        re.search(r"^search: \[.*'The Lighthouse'", out, re.M)
        and "order PAID 1299" in out
        and "owned: ['The Lighthouse']" in out
    )
