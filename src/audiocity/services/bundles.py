"""ZIP bundles of a whole book: the signed app link, the archive plan, and its bytes streamed from storage.

GCS cannot build a ZIP, so on either backend the app serves bundles itself. Audio is STORED (it is
compressed already); each member is read block by block through `Storage.read` and written out as
it arrives, so memory stays flat whatever the book's size and the first bytes leave at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import unicodedata
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from sqlalchemy.util import await_, greenlet_spawn
from zipstream import ZipStream

from audiocity.models import Audiobook, AudioFile, TranscriptStatus
from audiocity.services.download_names import TRANSCRIPT_FORMATS, audio_file_name, transcript_file_name
from audiocity.services.storage_keys import transcript_key
from audiocity.storage.base import SignedURL, Storage

# Keeps bundle signatures apart from file-link and token signatures made with the same SECRET_KEY.
_PURPOSE = "audiocity.bundle.download.v1"
CONTENT_TYPE = "application/zip"


@dataclass(frozen=True)
class BundleGrant:
    """The signed fields of a bundle link."""

    audiobook_id: str
    expires_at: int
    user_id: str | None
    filename: str


def sign(secret: str, grant: BundleGrant) -> str:
    message = json.dumps(
        [_PURPOSE, grant.audiobook_id, grant.expires_at, grant.user_id or "", grant.filename],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def bundle_url(
    base_url: str, secret: str, *, audiobook_id: str, user_id: str, filename: str, expires_in: int
) -> SignedURL:
    """A link to the app's `/bundles/` route carrying its own signed expiry, user and file name."""
    if expires_in <= 0:
        raise ValueError("expires_in must be positive")
    grant = BundleGrant(audiobook_id, int(time.time()) + expires_in, user_id, filename)
    query = urlencode(
        {"exp": grant.expires_at, "u": user_id, "fn": filename, "sig": sign(secret, grant)}, quote_via=quote
    )
    url = f"{base_url.rstrip('/')}/bundles/{quote(audiobook_id, safe='')}?{query}"
    return SignedURL(url=url, expires_at=datetime.fromtimestamp(grant.expires_at, UTC))


def verify(
    secret: str, audiobook_id: str, params: Mapping[str, str], *, now: float | None = None
) -> BundleGrant | None:
    """The grant if the signature matches and the link has not expired, else None."""
    try:
        grant = BundleGrant(audiobook_id, int(params["exp"]), params.get("u") or None, params["fn"])
        signature = params["sig"]
    except (KeyError, ValueError):
        return None
    if not hmac.compare_digest(sign(secret, grant), signature):
        return None
    if grant.expires_at <= (time.time() if now is None else now):
        return None
    return grant


def safe_name(name: str, fallback: str = "audiobook") -> str:
    """One path segment for an archive member: no separators, control characters or leading dots."""
    cleaned = "".join(
        "_" if c in "/\\" else c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C"
    )
    cleaned = cleaned.strip().lstrip(".").strip()
    return cleaned[:200] or fallback


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name inside the ZIP, its storage key and its exact size."""

    name: str
    key: str
    size: int


class _ObjectBlocks:
    """A sync iterator over one stored object, for zipstream, pulling each block from `Storage.read`.

    It only runs inside `greenlet_spawn` (SQLAlchemy's async bridge): `await_` parks the greenlet
    while the event loop reads the next block, so no thread is held and the loop never blocks.
    """

    def __init__(self, storage: Storage, key: str) -> None:
        self._storage = storage
        self._key = key
        self._reader: AsyncIterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._reader is None:
            self._reader = self._storage.read(self._key)
        block = await_(anext(self._reader, None))
        if block is None:
            raise StopIteration
        return block

    async def aclose(self) -> None:
        reader, self._reader = self._reader, None
        aclose = getattr(reader, "aclose", None)
        if aclose is not None:
            await aclose()


def zip_size(members: list[Member]) -> int:
    """The exact byte length of the archive these members make, without reading any of them."""
    archive = ZipStream(sized=True)
    for m in members:
        archive.add(iter(()), m.name, size=m.size)
    return len(archive)


async def _pump(chunks: Generator[bytes, None, None], sources: list[_ObjectBlocks]) -> AsyncIterator[bytes]:
    """Drive zipstream's sync generator one chunk at a time; release open reads if the client leaves."""
    try:
        while (chunk := await greenlet_spawn(next, chunks, None)) is not None:
            yield chunk
    finally:
        await greenlet_spawn(chunks.close)
        for source in sources:
            await source.aclose()


def stream_zip(storage: Storage, members: list[Member]) -> tuple[int, AsyncIterator[bytes]]:
    """The archive's length and its bytes, member after member, each read as it is written.

    A member whose stored size differs from `size` aborts the stream (the length was promised).
    """
    archive = ZipStream(sized=True)
    sources = [_ObjectBlocks(storage, m.key) for m in members]
    for m, source in zip(members, sources, strict=True):
        archive.add(source, m.name, size=m.size)
    return len(archive), _pump(archive.finalize(), sources)


def members_for(book: Audiobook, files: list[AudioFile], transcript_bytes: Mapping[str, int] | None) -> list[Member]:
    """Audio in play order, then the transcripts whose sizes are known, in a folder named for the book."""
    folder = safe_name(book.title)
    members = [
        Member(f"{folder}/{safe_name(audio_file_name(f), f.file_name)}", f.storage_key, f.size_bytes) for f in files
    ]
    if book.transcript_status == TranscriptStatus.READY and transcript_bytes:
        for _, fmt, _ in TRANSCRIPT_FORMATS:
            if fmt in transcript_bytes:
                name = safe_name(transcript_file_name(book, fmt), f"transcript.{fmt}")
                members.append(Member(f"{folder}/{name}", transcript_key(book.id, fmt), transcript_bytes[fmt]))
    return members


def bundle_file_name(book: Audiobook) -> str:
    return f"{book.title}.zip"
