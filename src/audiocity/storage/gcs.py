"""Storage in a Google Cloud Storage bucket; downloads go straight to GCS through V4 signed URLs.

`google-cloud-storage` is blocking, so every call that touches the network runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import google.auth
import google_crc32c
import requests
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials, Credentials, Signing
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage
from google.cloud.storage.fileio import BlobWriter

from audiocity.storage.base import (
    LinkUnavailable,
    ObjectInfo,
    ObjectNotFound,
    SignedURL,
    UploadTarget,
    check_content_type,
    validate_key,
)
from audiocity.storage.gcs_signing import CLOUD_PLATFORM, FAILED, signing_credentials
from audiocity.storage.signing import DownloadGrant, content_disposition, query_params

if TYPE_CHECKING:
    from _hashlib import HASH

UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024  # resumable chunks must be a multiple of 256 KiB
READ_BLOCK_SIZE = 4 * 1024 * 1024
MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600  # the V4 limit
MAX_SESSION_SECONDS = 7 * 24 * 3600  # GCS drops resumable sessions after a week


def emulated() -> bool:
    return bool(os.environ.get("STORAGE_EMULATOR_HOST"))


def default_client() -> storage.Client:
    """Application default credentials; anonymous ones against `STORAGE_EMULATOR_HOST`.

    The library itself points the client at `STORAGE_EMULATOR_HOST` (read when the client is
    created); being explicit about credentials and project keeps it from looking for real ones
    (a key file would otherwise make it ask Google for access tokens the emulator does not need).
    """
    if emulated():
        project = os.environ.get("GOOGLE_CLOUD_PROJECT", "audiocity-dev")
        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return storage.Client(project=project, credentials=anonymous)
    credentials, default_project = google.auth.default(scopes=CLOUD_PLATFORM)  # type: ignore[no-untyped-call]
    return storage.Client(project=default_project, credentials=credentials)


@dataclass(frozen=True)
class AppLinks:
    """Download links that point at the app (`DOWNLOAD_MODE=proxy`), HMAC-signed like local storage's."""

    secret: str
    base_url: str


def _decode_crc32c(value: str | None) -> int | None:
    return int.from_bytes(base64.b64decode(value), "big") if value else None


def _decode_md5(value: str | None) -> str | None:
    return base64.b64decode(value).hex() if value else None


def _write_chunk(writer: BlobWriter, chunk: bytes, md5: HASH, crc: int) -> int:
    """Buffer (and, once a chunk is full, upload) in a worker thread; returns the running crc32c."""
    writer.write(chunk)
    md5.update(chunk)
    return int(google_crc32c.extend(crc, chunk))


def _terminate(writer: BlobWriter) -> None:
    """Cancel the resumable session; only a courtesy, GCS drops unfinished sessions after a week."""
    with contextlib.suppress(Exception):
        writer.terminate()


def _cancel_session(url: str) -> None:
    """DELETE on a session URL cancels it (GCS answers 499); the URL itself is the credential."""
    with contextlib.suppress(requests.RequestException):
        requests.delete(url, timeout=30)


def _download_to(blob: storage.Blob, key: str, path: Path) -> None:
    temp = path.with_name(f".{path.name}.part")
    try:
        blob.download_to_filename(str(temp), raw_download=True)
        os.replace(temp, path)
    except NotFound:
        raise ObjectNotFound(key) from None
    finally:
        temp.unlink(missing_ok=True)


def signing_credentials_for(client: storage.Client, signer_email: str | None, iam_endpoint: str | None) -> Signing:
    """The client's own credentials when they hold a key, else IAM signing (see `gcs_signing`)."""
    own = None if emulated() else client._credentials
    return signing_credentials(own, emulator=emulated(), signer_email=signer_email, iam_endpoint=iam_endpoint)


class GCSStorage:
    """Objects are blobs named `{prefix}/{key}` in one bucket."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: storage.Client | None = None,
        signing_credentials: Credentials | Signing | None = None,
        signer_email: str | None = None,
        iam_endpoint: str | None = None,
        app_links: AppLinks | None = None,
        upload_chunk_size: int = UPLOAD_CHUNK_SIZE,
        read_block_size: int = READ_BLOCK_SIZE,
    ) -> None:
        self.client = client if client is not None else default_client()
        self.bucket = self.client.bucket(bucket)
        self.prefix = prefix.strip("/")
        if signing_credentials is None and app_links is None:
            signing_credentials = signing_credentials_for(self.client, signer_email, iam_endpoint)
        self.signing_credentials: Credentials | Signing | None = signing_credentials
        self.app_links = app_links
        self.upload_chunk_size = upload_chunk_size
        self.read_block_size = read_block_size

    def blob_name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _info(self, key: str, blob: storage.Blob) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(blob.size or 0),
            content_type=blob.content_type,
            md5_hex=_decode_md5(blob.md5_hash),
            crc32c=_decode_crc32c(blob.crc32c),
        )

    async def write(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None) -> ObjectInfo:
        """A resumable upload fed chunk by chunk; the object only appears once the last chunk is in."""
        blob = self.bucket.blob(self.blob_name(key))
        writer = blob.open(
            "wb",
            chunk_size=self.upload_chunk_size,
            content_type=content_type or "application/octet-stream",
        )
        md5 = hashlib.md5(usedforsecurity=False)
        crc = 0
        try:
            async for chunk in chunks:
                crc = await asyncio.to_thread(_write_chunk, writer, chunk, md5, crc)
            await asyncio.to_thread(writer.close)
        except BaseException:
            # Not awaited: a cancelled task may not get to await anything here.
            asyncio.get_running_loop().run_in_executor(None, _terminate, writer)
            raise
        await asyncio.to_thread(blob.reload)
        info = self._info(key, blob)
        if (info.md5_hex is not None and info.md5_hex != md5.hexdigest()) or (
            info.crc32c is not None and info.crc32c != crc
        ):
            await self._delete(blob, if_generation_match=blob.generation)
            raise OSError(f"Checksum mismatch after uploading {key!r}")
        return info

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Ranged downloads of one generation, so a concurrent overwrite cannot mix two versions."""
        if start < 0:
            raise ValueError("start must not be negative")
        name = self.blob_name(key)
        found = await asyncio.to_thread(self.bucket.get_blob, name)
        if found is None:
            raise ObjectNotFound(key)
        last = int(found.size or 0) - 1 if end is None else min(end, int(found.size or 0) - 1)
        position = start
        while position <= last:
            stop = min(position + self.read_block_size - 1, last)
            # A fresh Blob each time: a download copies response headers (generation too) onto it.
            blob = self.bucket.blob(name, generation=found.generation)
            try:
                block = await asyncio.to_thread(
                    blob.download_as_bytes, start=position, end=stop, raw_download=True, checksum=None
                )
            except NotFound:
                raise ObjectNotFound(key) from None
            if not block:
                break
            position += len(block)
            yield block

    async def stat(self, key: str) -> ObjectInfo | None:
        blob = await asyncio.to_thread(self.bucket.get_blob, self.blob_name(key))
        return None if blob is None else self._info(key, blob)

    async def delete(self, key: str) -> None:
        await self._delete(self.bucket.blob(self.blob_name(key)))

    async def _delete(self, blob: storage.Blob, if_generation_match: int | None = None) -> None:
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(blob.delete, if_generation_match=if_generation_match)

    async def download_to(self, key: str, path: Path) -> None:
        """Through a temp file beside `path`; the library checks the whole object's checksum."""
        blob = self.bucket.blob(self.blob_name(key))
        await asyncio.to_thread(_download_to, blob, key, Path(path))

    def signed_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str,
        content_type: str,
        user_id: str | None = None,
    ) -> SignedURL:
        """A V4 signed GET that makes GCS send our file name and type, or with `app_links` a link to the app.

        Signing is local with a service-account key, else through IAM `signBlob` (which makes a
        network call: call this off the event loop). GCS cannot check `user_id`: a V4 link stays
        valid until it expires; app links are checked on every use. Raises `LinkUnavailable` when
        the link cannot be signed.
        """
        check_content_type(content_type)
        if not 0 < expires_in <= MAX_SIGNED_URL_SECONDS:
            raise ValueError(f"expires_in must be between 1 and {MAX_SIGNED_URL_SECONDS} seconds")
        if self.app_links is not None:
            return self._app_link(
                key, expires_in=expires_in, filename=filename, content_type=content_type, user_id=user_id
            )
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in)
        blob = self.bucket.blob(self.blob_name(key))
        try:
            url = blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=expires_in),
                method="GET",
                response_disposition=content_disposition(filename),
                response_type=content_type,
                credentials=self.signing_credentials,
                client=self.client,
            )
        except (GoogleAuthError, requests.RequestException) as exc:
            raise LinkUnavailable(FAILED, f"Signing a link to {key!r} failed: {exc}") from exc
        return SignedURL(url=url, expires_at=expires_at)

    def _app_link(
        self, key: str, *, expires_in: int, filename: str, content_type: str, user_id: str | None
    ) -> SignedURL:
        assert self.app_links is not None
        validate_key(key)
        expires_at = int(datetime.now(UTC).timestamp()) + expires_in
        grant = DownloadGrant(
            key=key, expires_at=expires_at, user_id=user_id, filename=filename, content_type=content_type
        )
        query = urlencode(query_params(self.app_links.secret, grant), quote_via=quote)
        url = f"{self.app_links.base_url.rstrip('/')}/files/{quote(key, safe='/')}?{query}"
        return SignedURL(url=url, expires_at=datetime.fromtimestamp(expires_at, UTC))

    async def create_upload_session(
        self, key: str, *, content_type: str, size: int, expires_in: int, origin: str | None = None
    ) -> UploadTarget:
        """A GCS resumable session URL: the client PUTs its chunks straight to GCS, not through us.

        The session is pinned to `size` bytes (`X-Upload-Content-Length`) and to "no object there
        yet", so it can neither grow past what was declared nor overwrite an existing object.
        """
        check_content_type(content_type)
        if not 0 < expires_in <= MAX_SESSION_SECONDS:
            raise ValueError(f"expires_in must be between 1 and {MAX_SESSION_SECONDS} seconds")
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in)
        blob = self.bucket.blob(self.blob_name(key))
        url = await asyncio.to_thread(
            blob.create_resumable_upload_session,
            content_type=content_type,
            size=size,
            origin=origin,
            client=self.client,
            checksum=None,
            if_generation_match=0,
        )
        return UploadTarget(url=url, method="PUT", expires_at=expires_at)

    async def abort_upload(self, key: str, url: str) -> None:
        await asyncio.to_thread(_cancel_session, url)
        await self.delete(key)

    def local_path(self, key: str) -> Path | None:
        return None
