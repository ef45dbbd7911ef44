"""In a real browser: GraphiQL served without a CDN, the live jobs page, and a shop on another origin."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import StaticSite
from tests.conftest import FIXTURES
from tests.e2e.server import Server, run_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ADMIN_PASSWORD = "admin password 1"
SPEECH = FIXTURES / "speech" / "river.mp3"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str,
    shop_sites: tuple[StaticSite, StaticSite],
) -> Iterator[Server]:
    allowed, _ = shop_sites
    with run_server(
        tmp_path_factory.mktemp("browser-app"), database_url, redis_url, CORS_ORIGINS=allowed.origin
    ) as running:
        yield running


class Api:
    """Set-up calls from the test itself, over plain HTTP."""

    def __init__(self, server: Server, token: str | None = None) -> None:
        self.server = server
        self.token = token

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = httpx.post(
            self.server.graphql_url, json={"query": query, "variables": variables}, headers=headers
        ).json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def upload_inline(self, book_id: str) -> str:
        operations = {
            "query": "mutation($b: ID!, $f: Upload!) "
            "{ uploadAudioFile(audiobookId: $b, file: $f) { job { id } errors { message } } }",
            "variables": {"b": book_id, "f": None},
        }
        response = httpx.post(
            self.server.graphql_url,
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
            files={"0": (SPEECH.name, SPEECH.read_bytes(), "audio/mpeg")},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        result = response.json()["data"]["uploadAudioFile"]
        assert result["errors"] == [], result
        job_id: str = result["job"]["id"]
        return job_id


def admin(server: Server) -> tuple[str, Api]:
    email = f"browser-admin-{time.monotonic_ns()}@example.com"
    assert server.cli("create-admin", "--email", email, "--password", ADMIN_PASSWORD).returncode == 0
    login = Api(server)(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        e=email,
        p=ADMIN_PASSWORD,
    )
    return email, Api(server, login["login"]["accessToken"])


def new_book(api: Api, title: str) -> str:
    created = api(
        "mutation($i: AudiobookInput!) { createAudiobook(input: $i) { audiobook { id } errors { message } } }",
        i={"title": title, "priceCents": 999},
    )
    assert created["createAudiobook"]["errors"] == [], created
    book_id: str = created["createAudiobook"]["audiobook"]["id"]
    return book_id


def test_graphiql_runs_a_query_with_no_third_party_request(page: Page, server: Server) -> None:
    outside: list[str] = []

    def only_this_origin(route: Route) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_origin)
    response = page.goto(f"{server.graphql_url}?q=" + "%7B%20categories%20%7B%20name%20slug%20%7D%20%7D")
    assert response is not None and response.ok
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "unpkg" not in csp
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".graphiql-response")).to_contain_text('"categories"', timeout=30_000)
    assert outside == []


def test_admin_jobs_page_follows_an_upload_live(page: Page, server: Server) -> None:
    email, api = admin(server)
    response = page.goto(f"{server.base_url}/admin/jobs")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("#signin button[type=submit]")
    expect(page.locator("#jobs-view")).to_be_visible()
    page.evaluate(
        """() => {
            window.noReload = true;
            window.progressSeen = [];
            new MutationObserver((changes) => {
                for (const c of changes) {
                    const row = c.target.closest && c.target.closest("tr");
                    if (row && c.attributeName === "aria-valuenow")
                        window.progressSeen.push([row.dataset.jobId, Number(c.target.getAttribute("aria-valuenow"))]);
                }
            }).observe(document.querySelector("#jobs tbody"), { subtree: true, attributes: true, childList: true });
        }"""
    )
    job_id = api.upload_inline(new_book(api, "Live Page"))

    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "SUCCEEDED", timeout=180_000)
    expect(row.locator("[data-field=stage]")).to_have_text("DONE")
    expect(row.locator(".bar")).to_have_attribute("aria-valuenow", "100")
    bar_width = row.locator(".bar > div").evaluate(
        "e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width"
    )
    assert bar_width == pytest.approx(1.0, abs=0.02)
    seen = [v for j, v in page.evaluate("window.progressSeen") if j == job_id]
    assert seen == sorted(seen) and seen[-1] == 100 and len(set(seen)) >= 2, seen
    assert page.evaluate("window.noReload") is True
    expect(row.locator(".resume")).to_be_hidden()


QUERY_JS = """async ({ url, token }) => {
    try {
        const r = await fetch(url, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: "{ me { email } }" }),
        });
        return { status: r.status, body: await r.json(), requestId: r.headers.get("X-Request-ID") };
    } catch (e) { return { error: String(e) }; }
}"""

SUBSCRIBE_JS = """({ url, token, jobId }) => new Promise((resolve) => {
    const s = new WebSocket(url, "graphql-transport-ws");
    let opened = false;
    s.onopen = () => {
        opened = true;
        s.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    };
    s.onmessage = (event) => {
        const m = JSON.parse(event.data);
        if (m.type === "connection_ack") {
            s.send(JSON.stringify({ id: "1", type: "subscribe", payload: {
                query: "subscription($id: ID!) { jobUpdates(jobId: $id) { status } }", variables: { id: jobId } } }));
        } else if (m.type === "next") {
            resolve({ opened, status: m.payload.data.jobUpdates.status });
            s.close();
        }
    };
    s.onclose = (event) => resolve({ opened, closed: event.code });
})"""

UPLOAD_JS = """async ({ url, method, headers, data, chunk }) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const total = bytes.length;
    const statuses = [];
    let offset = 0;
    try {
        while (offset < total) {
            const end = Math.min(offset + chunk, total);
            const r = await fetch(url, { method, body: bytes.slice(offset, end),
                headers: { ...headers, "Content-Range": `bytes ${offset}-${end - 1}/${total}` } });
            statuses.push(r.status);
            if (r.status === 308) {
                const range = r.headers.get("Range");
                if (!range) return { statuses, error: "Range header not readable" };
                offset = Number(range.split("-")[1]) + 1;
            } else if (r.ok) {
                offset = total;
            } else {
                return { statuses, error: await r.text() };
            }
        }
        return { statuses };
    } catch (e) { return { statuses, error: String(e) }; }
}"""


def audio_bytes() -> bytes:
    """A little over one 256 KiB chunk of playable MP3 (the same clip four times)."""
    return SPEECH.read_bytes() * 4


def start_upload(api: Api, data: bytes) -> dict[str, Any]:
    started = api(
        """mutation($i: StartUploadInput!) { startUpload(input: $i) {
            upload { id url method headers chunkSize } errors { message } } }""",
        i={"audiobookId": new_book(api, "Cross Origin"), "fileName": "clip.mp3", "contentType": "audio/mpeg",
           "sizeBytes": len(data)},
    )["startUpload"]  # fmt: skip
    assert started["errors"] == [], started
    upload: dict[str, Any] = started["upload"]
    return upload


def cross_origin_calls(page: Page, site: StaticSite, server: Server) -> tuple[dict[str, Any], ...]:
    _, api = admin(server)
    job_id = api.upload_inline(new_book(api, "Subscribed"))
    data = audio_bytes()
    upload = start_upload(api, data)
    page.goto(f"{site.origin}/index.html")
    assert page.evaluate("location.origin") == site.origin != server.base_url
    query = page.evaluate(QUERY_JS, {"url": server.graphql_url, "token": api.token})
    subscription = page.evaluate(SUBSCRIBE_JS, {"url": server.ws_url, "token": api.token, "jobId": job_id})
    sent = page.evaluate(
        UPLOAD_JS,
        {"url": upload["url"], "method": upload["method"], "headers": upload["headers"],
         "data": base64.b64encode(data).decode(), "chunk": 262144},
    )  # fmt: skip
    return api, upload, query, subscription, sent  # type: ignore[return-value]


def test_a_shop_on_an_allowed_origin_queries_subscribes_and_uploads(
    page: Page, server: Server, shop_sites: tuple[StaticSite, StaticSite]
) -> None:
    api, upload, query, subscription, sent = cross_origin_calls(page, shop_sites[0], server)
    assert query["status"] == 200 and query["body"]["data"]["me"]["email"].startswith("browser-admin-")
    assert query["requestId"], "X-Request-ID is exposed to the page"
    assert subscription["opened"] is True and subscription["status"] in {"QUEUED", "RUNNING", "SUCCEEDED"}
    assert "error" not in sent and sent["statuses"][0] == 308 and sent["statuses"][-1] in (200, 201), sent
    done = api(  # type: ignore[operator]
        "mutation($u: ID!) { completeUpload(uploadId: $u) { audioFile { fileName } errors { message } } }",
        u=upload["id"],
    )["completeUpload"]
    assert done["errors"] == [] and done["audioFile"]["fileName"] == "clip.mp3"


def test_a_shop_on_another_origin_is_refused_by_the_browser(
    page: Page, server: Server, shop_sites: tuple[StaticSite, StaticSite]
) -> None:
    _, upload, query, subscription, sent = cross_origin_calls(page, shop_sites[1], server)
    assert "Failed to fetch" in query["error"]
    assert subscription["opened"] is False
    assert "Failed to fetch" in sent["error"] and sent["statuses"] == []
    # The preflight stopped the chunk before it was sent: the upload has no bytes.
    probe = httpx.put(upload["url"], headers={**upload["headers"], "Content-Range": f"bytes */{len(audio_bytes())}"})
    assert probe.status_code == 308 and "range" not in probe.headers
