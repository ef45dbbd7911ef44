"""What browsers see before any GraphQL runs: CORS preflights and headers, GraphiQL's assets and CSP, the jobs page."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from audiocity.app import create_app
from audiocity.config import Settings

SHOP = "https://shop.example"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        AUDIOCITY_DATA_DIR=tmp_path, SECRET_KEY="k" * 40, CORS_ORIGINS=f"{SHOP}, https://admin.example/"
    )
    yield TestClient(create_app(settings))  # no lifespan: nothing here touches the database


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/graphql", "POST", "authorization,content-type,x-cart-token"),
        ("/uploads/audio/abc", "PUT", "content-range,content-type"),
        ("/files/audio/abc", "GET", "range,if-range"),
        ("/bundles/abc", "GET", "range"),
    ],
)
def test_an_allowed_origin_gets_a_cacheable_preflight(client: TestClient, path: str, method: str, headers: str) -> None:
    response = client.options(
        path,
        headers={"Origin": SHOP, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["access-control-max-age"] == "600"
    assert method in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in headers.split(","))


def test_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    preflight = client.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    plain = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_responses_expose_the_headers_clients_read(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": "https://admin.example"})
    assert response.headers["access-control-allow-origin"] == "https://admin.example"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "etag", "range", "content-range"} <= exposed


def test_graphiql_loads_pinned_assets_from_this_app_under_a_csp(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    settings = Settings(
        AUDIOCITY_DATA_DIR=tmp_path, SECRET_KEY="k" * 40, DATABASE_URL=database_url, REDIS_URL=redis_url
    )
    with TestClient(create_app(settings)) as client:  # the GraphQL route needs the started app
        _graphiql(client)


def _graphiql(client: TestClient) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "unpkg.com" not in page.text
    csp = page.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assets = re.findall(r'(?:src|href)="(/graphiql/assets/[^"]+)"\s+integrity="sha384-([^"]+)"', page.text)
    assert len(assets) == 7
    for url, integrity in assets:
        body = client.get(url)
        assert body.status_code == 200, url
        assert base64.b64encode(hashlib.sha384(body.content).digest()).decode() == integrity, url
    licenses = ["react@18.2.0", "react-dom@18.2.0", "graphiql@3.8.3", "@graphiql/plugin-explorer@1.0.2"]
    for package in licenses:
        assert client.get(f"/graphiql/assets/{package}/LICENSE").status_code == 200


def test_the_jobs_page_is_static_and_strict(client: TestClient) -> None:
    page = client.get("/admin/jobs")
    assert page.status_code == 200 and '<table id="jobs">' in page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    script = client.get("/admin/assets/jobs.js")
    assert script.status_code == 200 and "graphql-transport-ws" in script.text and "jobUpdates" in script.text
