"""A real headless Chromium (Debian's `chromium`) driven by Playwright, and pages on other origins.

Playwright never downloads a browser here: it drives /usr/bin/chromium. When that is missing and apt
is usable (root), the fixture installs Debian's package; otherwise the browser tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Debian's chromium is not installed and apt-get is not usable here (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env, capture_output=True, timeout=900
    )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(database_url: str, redis_url: str) -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API owns this thread's event loop while it runs, so the embedded
    servers start first (their migrations use asyncio.run) and asyncio tests elsewhere run after it stops."""
    executable = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


class StaticSite:
    """A plain static site on its own loopback port: another origin than the API's."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "index.html").write_text("<!doctype html><title>shop</title><h1>A shop on another origin</h1>")
        handler = partial(_QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def shop_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StaticSite, StaticSite]]:
    """(allowed, refused): two sites whose pages call the API from their own origins."""
    allowed = StaticSite(tmp_path_factory.mktemp("shop-allowed"))
    refused = StaticSite(tmp_path_factory.mktemp("shop-refused"))
    try:
        yield allowed, refused
    finally:
        allowed.close()
        refused.close()
