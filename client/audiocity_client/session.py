"""What a frontend needs on top of the generated operations: a signed-in session that refreshes its
access token when the server says UNAUTHENTICATED, and resumable uploads of a file from a path.

Written by hand and copied into the package by `make client` (codegen.toml `files_to_include`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from .client import AudioCityClient
from .complete_upload import CompleteUploadCompleteUpload
from .exceptions import GraphQLClientError
from .input_types import StartUploadInput
from .start_upload import StartUploadStartUploadUpload

UploadTarget = StartUploadStartUploadUpload
_RANGE = re.compile(r"bytes=0-(\d+)")
_CHUNK_UNIT = 256 * 1024


class UploadError(GraphQLClientError):
    """The storage refused a chunk, or the API refused to start or complete the upload."""


class Session(AudioCityClient):
    """An `AudioCityClient` that remembers its tokens and refreshes them once when a call comes back
    UNAUTHENTICATED, then repeats the call. `on_tokens` sees every new pair (store it to stay signed in)."""

    def __init__(
        self,
        url: str,
        *,
        ws_url: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        on_tokens: Callable[[str, str], None] | None = None,
        http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            url=url,
            ws_url=ws_url or re.sub(r"^http", "ws", url),
            http_client=http_client or httpx.AsyncClient(timeout=60),
            **kwargs,
        )
        self.access_token = access_token
        self.refresh_token_value = refresh_token
        self.on_tokens = on_tokens
        self._use_tokens()

    def _use_tokens(self) -> None:
        headers = self.http_client.headers  # type: ignore[attr-defined]
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
            self.ws_connection_init_payload = {"Authorization": f"Bearer {self.access_token}"}
        else:
            headers.pop("Authorization", None)
            self.ws_connection_init_payload = {}

    def set_tokens(self, access_token: str, refresh_token: str) -> None:
        self.access_token, self.refresh_token_value = access_token, refresh_token
        self._use_tokens()
        if self.on_tokens is not None:
            self.on_tokens(access_token, refresh_token)

    async def sign_in(self, email: str, password: str) -> None:
        """`login`, keeping the tokens; raises `GraphQLClientError` with the server's message on failure."""
        result = (await self.login(email=email, password=password)).login
        if result.errors or not result.access_token or not result.refresh_token:
            raise GraphQLClientError(result.errors[0].message if result.errors else "Sign-in failed.")
        self.set_tokens(result.access_token, result.refresh_token)

    async def refresh(self) -> bool:
        """Trade the refresh token for a new pair; False when there is none or it is no longer valid."""
        if not self.refresh_token_value:
            return False
        result = (await self.refresh_token(refresh_token=self.refresh_token_value)).refresh_token
        if result.errors or not result.access_token or not result.refresh_token:
            return False
        self.set_tokens(result.access_token, result.refresh_token)
        return True

    async def execute(
        self, query: str, operation_name: str | None = None, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        response = await super().execute(query, operation_name, variables, **kwargs)
        if operation_name != "RefreshToken" and _unauthenticated(response) and await self.refresh():
            response = await super().execute(query, operation_name, variables, **kwargs)
        return response  # type: ignore[return-value]

    async def execute_ws(
        self, query: str, operation_name: str | None = None, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Subscriptions: a socket closed because the token expired (4403) reconnects after a refresh.

        The server then sends the current state again, so a consumer may see one item twice."""
        for _ in range(100):
            try:
                async for item in super().execute_ws(query, operation_name, variables, **kwargs):
                    yield item
                return
            except Exception as exc:
                if getattr(getattr(exc, "rcvd", None), "code", None) != 4403 or not await self.refresh():
                    raise
        raise GraphQLClientError("The subscription kept losing its token.")

    # --- resumable uploads ------------------------------------------------------------------------

    async def upload_file(
        self,
        audiobook_id: str,
        path: str | Path,
        *,
        content_type: str | None = None,
        upload: UploadTarget | None = None,
        chunk_size: int | None = None,
        max_resumes: int = 5,
        storage_client: httpx.AsyncClient | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> CompleteUploadCompleteUpload:
        """Send a file straight to storage in chunks and add it to the audiobook.

        Starts an upload (or continues `upload`, e.g. one from before a crash), asks storage how far it
        got, sends the rest in chunks, resumes after a dropped connection (up to `max_resumes` times in a
        row), then calls `completeUpload`. Storage requests carry no API token.
        """
        file = Path(path)
        size = (await asyncio.to_thread(file.stat)).st_size
        if upload is None:
            upload = await self.start_file_upload(audiobook_id, file, content_type)
        chunk = max(_CHUNK_UNIT, (chunk_size or upload.chunk_size) // _CHUNK_UNIT * _CHUNK_UNIT)
        storage = storage_client or httpx.AsyncClient(timeout=120)
        try:
            offset = await self.upload_offset(upload, size, storage)
            failures = 0
            while offset < size:
                try:
                    offset = await _send_chunk(storage, upload, file, offset, min(size, offset + chunk), size)
                    failures = 0
                except httpx.TransportError:
                    failures += 1
                    if failures > max_resumes:
                        raise
                    offset = await self.upload_offset(upload, size, storage)
                if on_progress is not None:
                    on_progress(offset, size)
        finally:
            if storage_client is None:
                await storage.aclose()
        done = (await self.complete_upload(upload_id=upload.id)).complete_upload
        if done.errors:
            raise UploadError(done.errors[0].message)
        return done

    async def start_file_upload(self, audiobook_id: str, file: Path, content_type: str | None = None) -> UploadTarget:
        """`startUpload` for a file on disk, with its MD5 so storage and the API can check the bytes."""
        md5, size = await asyncio.to_thread(_md5_and_size, file)
        started = (
            await self.start_upload(
                StartUploadInput(
                    audiobookId=audiobook_id,
                    fileName=file.name,
                    contentType=content_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream",
                    sizeBytes=float(size),
                    md5=base64.b64encode(md5).decode(),
                )
            )
        ).start_upload
        if started.errors or started.upload is None:
            raise UploadError(started.errors[0].message if started.errors else "The upload could not start.")
        return started.upload

    async def upload_offset(self, upload: UploadTarget, size: int, storage: httpx.AsyncClient) -> int:
        """How many bytes storage holds: an empty request with `Content-Range: bytes */N`."""
        response = await storage.request(
            upload.method, upload.url, headers={**_headers(upload), "Content-Range": f"bytes */{size}"}
        )
        return _next_offset(response, size)


def _md5_and_size(file: Path) -> tuple[bytes, int]:
    md5 = hashlib.md5()
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            md5.update(block)
    return md5.digest(), file.stat().st_size


def _read(file: Path, start: int, end: int) -> bytes:
    with file.open("rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def _unauthenticated(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return any((e.get("extensions") or {}).get("code") == "UNAUTHENTICATED" for e in errors)


def _headers(upload: UploadTarget) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(upload.headers or {}).items()}


async def _send_chunk(
    storage: httpx.AsyncClient, upload: UploadTarget, file: Path, start: int, end: int, size: int
) -> int:
    body = await asyncio.to_thread(_read, file, start, end)
    headers = {**_headers(upload), "Content-Range": f"bytes {start}-{end - 1}/{size}"}
    return _next_offset(await storage.request(upload.method, upload.url, content=body, headers=headers), size)


def _next_offset(response: httpx.Response, size: int) -> int:
    if response.status_code in (200, 201):
        return size
    if response.status_code == 308:
        match = _RANGE.match(response.headers.get("range", ""))
        return int(match.group(1)) + 1 if match else 0
    raise UploadError(f"Storage refused the upload: {response.status_code} {response.text[:200]}")
