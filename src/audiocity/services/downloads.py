"""Downloads: minting a library entry's links (files and the ZIP bundle), who may download what, and the
audit of served downloads with its statistics.

A signature only proves the app minted a link; entitlement is checked again on every use, so a
refunded book's links stop working before they expire.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.models import (
    Audiobook,
    AudioFile,
    DownloadEvent,
    DownloadKind,
    Role,
    Transcript,
    TranscriptStatus,
    User,
)
from audiocity.services import bundles, entitlements, storage_keys
from audiocity.services.audio_files import files_of_book
from audiocity.services.download_names import TRANSCRIPT_FORMATS, audio_file_name, transcript_file_name
from audiocity.services.errors import NotFound
from audiocity.storage import LinkUnavailable, Storage

__all__ = ["DownloadKind"]

_TRANSCRIPTS = {
    "txt": DownloadKind.TRANSCRIPT_TEXT,
    "vtt": DownloadKind.TRANSCRIPT_VTT,
    storage_keys.CHAPTERS_FORMAT: DownloadKind.CHAPTERS_VTT,
}


class DownloadErrorCode(enum.StrEnum):
    SIGNING_UNAVAILABLE = "SIGNING_UNAVAILABLE"  # nothing configured can sign: an operator must act
    SIGNING_FAILED = "SIGNING_FAILED"  # the signer was asked and failed: asking again later may work


@dataclass(frozen=True)
class DownloadError:
    """Why one link could not be made; the rest of the answer stands."""

    code: DownloadErrorCode
    message: str  # for clients
    detail: str  # for logs only


@dataclass(frozen=True)
class DownloadLink:
    kind: DownloadKind
    file_name: str
    url: str | None  # None exactly when `error` says why
    expires_at: datetime | None
    size_bytes: int | None
    storage_key: str = ""
    error: DownloadError | None = None


@dataclass(frozen=True)
class DownloadStats:
    audiobook_id: uuid.UUID
    request_count: int = 0
    download_count: int = 0
    unique_users: int = 0
    last_downloaded_at: datetime | None = None
    by_kind: dict[DownloadKind, int] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyTarget:
    """What a storage key is, as far as downloads are concerned."""

    audiobook_id: uuid.UUID
    kind: DownloadKind | None  # None: under the book's prefix, but neither an audio file nor a transcript
    audio_file_id: uuid.UUID | None = None


# --- links ---------------------------------------------------------------------------------------


async def transcript_sizes(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Byte sizes of the stored transcripts, which the worker writes from these same columns."""
    if not book_ids:
        return {}
    rows = await session.execute(
        select(
            col(Transcript.audiobook_id),
            func.octet_length(col(Transcript.text)),
            func.octet_length(col(Transcript.vtt)),
            func.octet_length(col(Transcript.chapters_vtt)),
        ).where(col(Transcript.audiobook_id).in_(book_ids))
    )
    sizes: dict[uuid.UUID, dict[str, int]] = {}
    for book_id, txt, vtt, chapters in rows.all():
        sizes[book_id] = {"txt": int(txt), "vtt": int(vtt)}
        if chapters is not None:  # chapters are a file of their own only once the book has some
            sizes[book_id][storage_keys.CHAPTERS_FORMAT] = int(chapters)
    return sizes


def download_links(
    storage: Storage,
    *,
    user_id: uuid.UUID,
    book: Audiobook,
    files: list[AudioFile],
    ttl_seconds: int,
    transcript_bytes: dict[str, int] | None = None,
) -> list[DownloadLink]:
    """Mint links now (they expire): each audio file in play order, then the transcript formats.

    Callers mint only for books the user is entitled to; the file route checks again on use.
    """
    wanted: list[tuple[DownloadKind, str, str, str, int | None]] = [
        (DownloadKind.AUDIO, f.storage_key, audio_file_name(f), f.content_type, f.size_bytes) for f in files
    ]
    if book.transcript_status == TranscriptStatus.READY:
        for kind, fmt, mime in TRANSCRIPT_FORMATS:
            size = (transcript_bytes or {}).get(fmt)
            if kind is DownloadKind.CHAPTERS_VTT and not size:
                continue
            wanted.append(
                (kind, storage_keys.transcript_key(book.id, fmt), transcript_file_name(book, fmt), mime, size)
            )
    return [
        _link(storage, kind, key, name, mime, size, user_id=user_id, ttl_seconds=ttl_seconds)
        for kind, key, name, mime, size in wanted
    ]


def _link(
    storage: Storage,
    kind: DownloadKind,
    key: str,
    name: str,
    content_type: str,
    size: int | None,
    *,
    user_id: uuid.UUID,
    ttl_seconds: int,
) -> DownloadLink:
    """One link, or the typed reason it cannot be made: a signer's failure spoils only its own link."""
    try:
        signed = storage.signed_download_url(
            key, expires_in=ttl_seconds, filename=name, content_type=content_type, user_id=str(user_id)
        )
    except LinkUnavailable as exc:
        code = DownloadErrorCode(exc.code)
        message = (
            "Downloads cannot be signed on this server; ask its operator."
            if code is DownloadErrorCode.SIGNING_UNAVAILABLE
            else "The download link could not be made right now; try again shortly."
        )
        error = DownloadError(code=code, message=message, detail=str(exc))
        return DownloadLink(kind, name, None, None, size, storage_key=key, error=error)
    return DownloadLink(kind, name, signed.url, signed.expires_at, size, storage_key=key)


# --- who may download what -----------------------------------------------------------------------


async def resolve_key(session: AsyncSession, key: str) -> KeyTarget | None:
    """Map a storage key to its book (and audio file); None for keys outside any book."""
    parsed = storage_keys.parse(key)
    if parsed is None:
        return None
    book_id = parsed.audiobook_id
    if parsed.transcript_format is not None:
        return KeyTarget(book_id, _TRANSCRIPTS[parsed.transcript_format])
    file_id = await session.scalar(
        select(col(AudioFile.id)).where(col(AudioFile.storage_key) == key, col(AudioFile.audiobook_id) == book_id)
    )
    return KeyTarget(book_id, DownloadKind.AUDIO if file_id else None, file_id)


async def may_download(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> bool:
    """Admins may download anything; everyone else only what they are entitled to right now."""
    user = await session.get(User, user_id)
    if user is None:
        return False
    return user.role == Role.ADMIN or await entitlements.is_entitled(session, user_id, audiobook_id)


async def cover_visible(session: AsyncSession, key: str, audiobook_id: uuid.UUID, user_id: str | None) -> bool:
    """Cover images are public while their book is (no purchase needed), and stay so after a soft delete
    (its owners' libraries still show it); a draft's only to admins and owners. Only the book's current
    cover is served."""
    book = await session.get(Audiobook, audiobook_id)
    if book is None or not book.cover_key or not key.startswith(book.cover_key + "/"):
        return False
    if book.published or book.deleted_at is not None:
        return True
    try:
        uid = uuid.UUID(user_id) if user_id else None
    except ValueError:
        return False
    return uid is not None and await may_download(session, uid, audiobook_id)


async def authorize_key(session: AsyncSession, key: str, user_id: str | None) -> bool:
    """Whether the signed user of a file link may still fetch `key` (refunds revoke on use)."""
    parsed = storage_keys.parse(key)
    if parsed is not None and parsed.cover:
        return await cover_visible(session, key, parsed.audiobook_id, user_id)
    if not user_id:
        return False
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        return False
    user = await session.get(User, uid)
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    target = await resolve_key(session, key)
    if target is None or target.kind is None:
        return False
    return await entitlements.is_entitled(session, uid, target.audiobook_id)


async def record_download(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    audiobook_id: uuid.UUID,
    kind: DownloadKind,
    audio_file_id: uuid.UUID | None = None,
    storage_key: str | None = None,
    range_start: int | None = None,
    range_end: int | None = None,
) -> None:
    session.add(
        DownloadEvent(
            user_id=user_id,
            audiobook_id=audiobook_id,
            audio_file_id=audio_file_id,
            kind=kind,
            storage_key=storage_key,
            range_start=range_start,
            range_end=range_end,
        )
    )
    await session.flush()


async def record_key_download(
    session: AsyncSession, *, key: str, user_id: str | None, range_start: int, range_end: int
) -> None:
    """Audit a file-route request; objects outside any book (admins only) and covers are not book downloads."""
    parsed = storage_keys.parse(key)
    if parsed is not None and parsed.cover:
        return
    target = await resolve_key(session, key)
    if target is None:
        return
    uid: uuid.UUID | None
    try:
        uid = uuid.UUID(user_id) if user_id else None
    except ValueError:
        uid = None
    await record_download(
        session,
        user_id=uid,
        audiobook_id=target.audiobook_id,
        kind=target.kind or DownloadKind.AUDIO,
        audio_file_id=target.audio_file_id,
        storage_key=key,
        range_start=range_start,
        range_end=range_end,
    )


async def download_stats(session: AsyncSession, audiobook_id: uuid.UUID) -> tuple[Audiobook, DownloadStats]:
    """Counts for admins. A "download" is a request from byte 0; later ranges are seeks or resumes."""
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    from_start = func.coalesce(col(DownloadEvent.range_start), 0) == 0
    rows = (
        await session.execute(
            select(
                col(DownloadEvent.kind),
                func.count(),
                func.count().filter(from_start),
                func.max(col(DownloadEvent.created_at)),
            )
            .where(col(DownloadEvent.audiobook_id) == audiobook_id)
            .group_by(col(DownloadEvent.kind))
        )
    ).all()
    users = await session.scalar(
        select(func.count(func.distinct(col(DownloadEvent.user_id)))).where(
            col(DownloadEvent.audiobook_id) == audiobook_id
        )
    )
    last = [r[3] for r in rows]
    return book, DownloadStats(
        audiobook_id=audiobook_id,
        request_count=sum(int(r[1]) for r in rows),
        download_count=sum(int(r[2]) for r in rows),
        unique_users=int(users or 0),
        last_downloaded_at=max(last) if last else None,
        by_kind={DownloadKind(r[0]): int(r[2]) for r in rows},
    )


# --- bundles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleContents:
    audiobook: Audiobook
    files: list[AudioFile]
    transcripts: bool


async def bundle_contents(session: AsyncSession, audiobook_id: uuid.UUID) -> BundleContents | None:
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        return None
    files = await files_of_book(session, audiobook_id)
    return BundleContents(book, files, book.transcript_status == TranscriptStatus.READY)


@dataclass(frozen=True)
class LinkMinter:
    """What minting one viewer's links needs; callers mint only for books the viewer is entitled to."""

    storage: Storage
    secret: str
    base_url: str
    ttl_seconds: int
    user_id: uuid.UUID

    def file_links(
        self, book: Audiobook, files: list[AudioFile], transcript_bytes: dict[str, int] | None
    ) -> list[DownloadLink]:
        """Blocking when the backend signs through a network call: run it off the event loop."""
        return download_links(
            self.storage,
            user_id=self.user_id,
            book=book,
            files=files,
            ttl_seconds=self.ttl_seconds,
            transcript_bytes=transcript_bytes,
        )

    def bundle_link(
        self, book: Audiobook, files: list[AudioFile], transcript_bytes: Mapping[str, int] | None
    ) -> DownloadLink | None:
        """A link to the app's ZIP of the whole book; None when there is nothing to download yet."""
        members = bundles.members_for(book, files, transcript_bytes)
        if not members:
            return None
        name = bundles.bundle_file_name(book)
        signed = bundles.bundle_url(
            self.base_url,
            self.secret,
            audiobook_id=str(book.id),
            user_id=str(self.user_id),
            filename=name,
            expires_in=self.ttl_seconds,
        )
        return DownloadLink(
            kind=DownloadKind.BUNDLE,
            file_name=name,
            url=signed.url,
            expires_at=signed.expires_at,
            size_bytes=bundles.zip_size(members),
        )
