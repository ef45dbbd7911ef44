"""Multipart bodies are judged by their headers: refused ones are never read, and no temp file stays open."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.e2e.server import Server
from tests.security.conftest import Accounts
from tests.security.helpers import published_book

HUGE = 200 * 1024 * 1024


def send_headers_only(server: Server, token: str | None, length: int = HUGE) -> tuple[int, bytes]:
    """Announce a 200 MiB multipart body, send none of it, and read the answer."""
    url = urlparse(server.graphql_url)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n{auth}"
        f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode())
        sock.sendall(b"--xyz\r\n")  # a first few bytes; the rest never comes
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def open_temp_files(pid: int) -> list[str]:
    """Files the server process holds open that live in a temp dir or were deleted (spooled uploads)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if "(deleted)" in target or target.startswith("/tmp/tmp"):
            found.append(target)
    return found


def test_anonymous_200_mib_upload_is_refused_before_it_is_read(server: Server) -> None:
    status, answer = send_headers_only(server, None)
    assert status == 401 and b"UNAUTHENTICATED" in answer
    assert open_temp_files(server.process.pid) == []


def test_customer_and_oversized_admin_uploads_are_refused_from_headers(server: Server, accounts: Accounts) -> None:
    status, answer = send_headers_only(server, accounts.customer)
    assert status == 403 and b"FORBIDDEN" in answer
    status, answer = send_headers_only(server, "not-a-token")
    assert status == 401
    status, answer = send_headers_only(server, accounts.admin)  # over MAX_INLINE_UPLOAD_BYTES
    assert status == 413 and b"FILE_TOO_LARGE" in answer
    assert open_temp_files(server.process.pid) == []


def test_an_accepted_upload_leaves_no_temp_file_open(server: Server, accounts: Accounts) -> None:
    published_book(server, accounts)  # uploads a file inline as the admin
    assert open_temp_files(server.process.pid) == []
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
