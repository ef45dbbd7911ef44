"""`make run` with nothing configured: each data dir brings its own PostgreSQL and Redis."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.server import run_server

REGISTER = """mutation($email: String!) { register(input: {email: $email, password: "long enough pw"}) {
  user { email } errors { code } } }"""


def register(base_url: str, email: str) -> list[dict[str, str]]:
    response = httpx.post(f"{base_url}/graphql", json={"query": REGISTER, "variables": {"email": email}})
    assert response.status_code == 200, response.text
    errors: list[dict[str, str]] = response.json()["data"]["register"]["errors"]
    return errors


def test_two_instances_run_side_by_side_on_their_own_embedded_servers(tmp_path: Path) -> None:
    email = f"twin-{time.monotonic_ns()}@example.com"
    with (
        run_server(tmp_path / "one", None, None) as one,
        run_server(tmp_path / "two", None, None) as two,
    ):
        for server in (one, two):
            ready = httpx.get(f"{server.base_url}/readyz").json()
            assert ready == {"status": "ok", "database": "ok", "redis": "ok"}
            assert httpx.get(f"{server.base_url}/healthz").text == "ok"
        assert (tmp_path / "one" / "postgres" / "PG_VERSION").exists()
        assert (tmp_path / "two" / "postgres" / "PG_VERSION").exists()
        # Separate databases: the same email registers once on each instance.
        assert register(one.base_url, email) == []
        assert register(two.base_url, email) == []
        assert register(one.base_url, email) == []  # a taken address answers alike (no account enumeration)
        outbox = tmp_path / "one" / "outbox"  # the in-process worker writes a welcome, then "already registered"
        deadline = time.monotonic() + 60
        while len(list(outbox.glob("*.eml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(list(outbox.glob("*.eml"))) == 2
        for server in (one, two):  # migrations ran before the in-process worker and its sweepers started
            assert "does not exist" not in server.log(), server.log()

        metrics = httpx.get(f"{one.base_url}/metrics").text
        assert 'audiocity_http_requests_total{method="POST",path="/graphql",status="200"}' in metrics
        ide = httpx.get(f"{one.base_url}/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
