"""What a user owns, short-lived links to download it, where they are in it, and who downloaded what."""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, and_, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import (
    Audiobook,
    AudioFile,
    DownloadEvent,
    DownloadKind,
    Entitlement,
    ListeningProgress,
    Role,
    Transcript,
    TranscriptStatus,
    User,
    utcnow,
)
from audiocity.services import entitlements, storage_keys
from audiocity.services.audio_files import files_of_book
from audiocity.services.catalog import search_conditions
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import Page, decode_cursor, encode_cursor, page_size
from audiocity.storage import LinkUnavailable, Storage

__all__ = ["DownloadKind"]

# A listener this close to the end has finished the book (credits, silence, the last sentence).
FINISHED_WITHIN_SECONDS = 10.0
# Books never listened to sort after every listened one in "continue listening" order.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
_TRANSCRIPTS = {"txt": DownloadKind.TRANSCRIPT_TEXT, "vtt": DownloadKind.TRANSCRIPT_VTT}
TRANSCRIPT_FORMATS = (
    (DownloadKind.TRANSCRIPT_TEXT, "txt", "text/plain; charset=utf-8"),
    (DownloadKind.TRANSCRIPT_VTT, "vtt", "text/vtt; charset=utf-8"),
)


class LibraryOrder(enum.StrEnum):
    RECENTLY_PURCHASED = "RECENTLY_PURCHASED"
    RECENTLY_LISTENED = "RECENTLY_LISTENED"


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
class Progress:
    """A saved position mapped onto the book's files in play order."""

    position_seconds: float
    duration_seconds: float
    file_index: int | None
    file: AudioFile | None
    offset_seconds: float
    percent: float
    finished: bool
    updated_at: datetime


@dataclass(frozen=True)
class LibraryEntry:
    audiobook: Audiobook
    purchased_at: datetime
    listened: ListeningProgress | None = None


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


def audio_file_name(f: AudioFile) -> str:
    """Numbered by play order so a folder of downloads sorts the way the book plays."""
    return f"{f.position + 1:02d} - {f.file_name}"


def transcript_file_name(book: Audiobook, fmt: str) -> str:
    return f"{book.title} - transcript.{fmt}"


# --- the library -------------------------------------------------------------------------------------


def _active(user_id: uuid.UUID) -> list[Any]:
    return [Entitlement.user_id == user_id, Entitlement.revoked_at.is_(None)]  # type: ignore[union-attr]


def _decode_library_cursor(after: str, order: LibraryOrder) -> list[Any]:
    values = decode_cursor(after)
    try:
        if order is LibraryOrder.RECENTLY_LISTENED:
            listened, granted, last_id = values
            return [datetime.fromisoformat(listened), datetime.fromisoformat(granted), uuid.UUID(last_id)]
        granted, last_id = values
        return [datetime.fromisoformat(granted), uuid.UUID(last_id)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ServiceError(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


async def list_library(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    order: LibraryOrder = LibraryOrder.RECENTLY_PURCHASED,
) -> Page[LibraryEntry]:
    """Owned books (bought or granted), keyset-paginated, with the viewer's progress joined in.

    RECENTLY_LISTENED puts the books listened to most recently first ("continue listening"), then
    the never-listened ones by purchase date.
    """
    limit = page_size(first)
    conditions = [*_active(user_id), *search_conditions(search)]
    listened = func.coalesce(ListeningProgress.updated_at, literal(_NEVER, DateTime(timezone=True)))
    keys: list[Any] = [Entitlement.granted_at, Audiobook.id]
    if order is LibraryOrder.RECENTLY_LISTENED:
        keys.insert(0, listened)
    query = (
        select(Audiobook, Entitlement.granted_at, ListeningProgress)
        .join(Entitlement, Entitlement.audiobook_id == Audiobook.id)  # type: ignore[arg-type]
        .outerjoin(
            ListeningProgress,
            and_(ListeningProgress.user_id == user_id, ListeningProgress.audiobook_id == Audiobook.id),  # type: ignore[arg-type]
        )
        .where(*conditions)
    )
    if after:
        query = query.where(tuple_(*keys) < tuple_(*_decode_library_cursor(after, order)))
    rows = (await session.execute(query.order_by(*[k.desc() for k in keys]).limit(limit + 1))).all()
    items = [LibraryEntry(audiobook=b, purchased_at=g, listened=p) for b, g, p in rows[:limit]]
    total = await session.scalar(
        select(func.count())
        .select_from(Entitlement)
        .join(Audiobook, Audiobook.id == Entitlement.audiobook_id)  # type: ignore[arg-type]
        .where(*conditions)
    )

    def cursor(e: LibraryEntry) -> str:
        values = [e.purchased_at.isoformat(), str(e.audiobook.id)]
        if order is LibraryOrder.RECENTLY_LISTENED:
            values.insert(0, (e.listened.updated_at if e.listened else _NEVER).isoformat())
        return encode_cursor(values)

    return Page(
        items=items,
        cursors=[cursor(e) for e in items],
        has_next_page=len(rows) > limit,
        total_count=int(total or 0),
    )


async def transcript_sizes(session: AsyncSession, book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Byte sizes of the stored transcripts, which the worker writes from these same columns."""
    if not book_ids:
        return {}
    rows = await session.execute(
        select(Transcript.audiobook_id, func.octet_length(Transcript.text), func.octet_length(Transcript.vtt)).where(
            Transcript.audiobook_id.in_(book_ids)  # type: ignore[attr-defined]
        )
    )
    return {book_id: {"txt": int(txt), "vtt": int(vtt)} for book_id, txt, vtt in rows.all()}


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
    wanted = [(DownloadKind.AUDIO, f.storage_key, audio_file_name(f), f.content_type, f.size_bytes) for f in files]
    if book.transcript_status == TranscriptStatus.READY:
        for kind, fmt, mime in TRANSCRIPT_FORMATS:
            size = (transcript_bytes or {}).get(fmt)
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


# --- who may download what ---------------------------------------------------------------------------


async def resolve_key(session: AsyncSession, key: str) -> KeyTarget | None:
    """Map a storage key to its book (and audio file); None for keys outside any book."""
    parsed = storage_keys.parse(key)
    if parsed is None:
        return None
    book_id = parsed.audiobook_id
    if parsed.transcript_format is not None:
        return KeyTarget(book_id, _TRANSCRIPTS[parsed.transcript_format])
    file_id = await session.scalar(
        select(AudioFile.id).where(AudioFile.storage_key == key, AudioFile.audiobook_id == book_id)
    )
    return KeyTarget(book_id, DownloadKind.AUDIO if file_id else None, file_id)


async def may_download(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> bool:
    """Admins may download anything; everyone else only what they are entitled to right now."""
    user = await session.get(User, user_id)
    if user is None:
        return False
    return user.role == Role.ADMIN or await entitlements.is_entitled(session, user_id, audiobook_id)


async def authorize_key(session: AsyncSession, key: str, user_id: str | None) -> bool:
    """Whether the signed user of a file link may still fetch `key` (refunds revoke on use)."""
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
    """Audit a file-route request; objects outside any book (admins only) are not book downloads."""
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
    from_start = func.coalesce(DownloadEvent.range_start, 0) == 0
    rows = (
        await session.execute(
            select(
                DownloadEvent.kind, func.count(), func.count().filter(from_start), func.max(DownloadEvent.created_at)
            )
            .where(DownloadEvent.audiobook_id == audiobook_id)
            .group_by(DownloadEvent.kind)
        )
    ).all()
    users = await session.scalar(
        select(func.count(func.distinct(DownloadEvent.user_id))).where(DownloadEvent.audiobook_id == audiobook_id)
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


async def grant_audiobook(session: AsyncSession, user_id: uuid.UUID, audiobook_id: uuid.UUID) -> Audiobook:
    """An admin gift: ownership without an order (idempotent; re-grants after a refund)."""
    if await session.get(User, user_id) is None:
        raise NotFound("User", "userId")
    book = await session.get(Audiobook, audiobook_id)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    await entitlements.grant(session, user_id, [audiobook_id], None)
    return book


# --- listening progress ------------------------------------------------------------------------------


def locate(saved: ListeningProgress, files: list[AudioFile]) -> Progress:
    """Map a position in the whole book onto (file, offset) in play order."""
    total = sum(max(f.duration_seconds, 0.0) for f in files)
    position = max(saved.position_seconds, 0.0)
    if total > 0:
        position = min(position, total)
    index: int | None = None
    current: AudioFile | None = None
    offset = 0.0
    start = 0.0
    for i, f in enumerate(files):
        length = max(f.duration_seconds, 0.0)
        if position < start + length or i == len(files) - 1:
            index, current, offset = i, f, max(0.0, min(position - start, length))
            break
        start += length
    return Progress(
        position_seconds=position,
        duration_seconds=total,
        file_index=index,
        file=current,
        offset_seconds=offset,
        percent=round(100.0 * position / total, 2) if total > 0 else 0.0,
        finished=total > 0 and position > 0 and position >= total - FINISHED_WITHIN_SECONDS,
        updated_at=saved.updated_at,
    )


async def save_progress(
    session: AsyncSession, *, user_id: uuid.UUID, audiobook_id: uuid.UUID, position_seconds: float
) -> tuple[ListeningProgress, list[AudioFile]]:
    """Upsert the listener's position (clamped to the book's length); the latest save wins."""
    if not math.isfinite(position_seconds) or position_seconds < 0:
        raise ServiceError(ErrorCode.INVALID, "positionSeconds must be a number of seconds >= 0.", "positionSeconds")
    if await session.get(Audiobook, audiobook_id) is None:
        raise NotFound("Audiobook", "audiobookId")
    if not await may_download(session, user_id, audiobook_id):
        raise ServiceError(ErrorCode.NOT_OWNED, "You do not own this audiobook.", "audiobookId")
    files = await files_of_book(session, audiobook_id)
    total = sum(max(f.duration_seconds, 0.0) for f in files)
    position = min(position_seconds, total) if total > 0 else position_seconds
    now = utcnow()
    stmt = insert(ListeningProgress).values(
        user_id=user_id, audiobook_id=audiobook_id, position_seconds=position, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "audiobook_id"], set_={"position_seconds": position, "updated_at": now}
    )
    await session.execute(stmt)
    saved = ListeningProgress(user_id=user_id, audiobook_id=audiobook_id, position_seconds=position, updated_at=now)
    return saved, files


# --- bundles -----------------------------------------------------------------------------------------


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
