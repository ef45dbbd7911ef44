"""What a user owns, and short-lived links to download it."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, AudioFile, Entitlement, TranscriptStatus
from audiocity.services.pagination import Page, decode_cursor, encode_cursor, page_size
from audiocity.storage import Storage


class DownloadKind(enum.StrEnum):
    AUDIO = "AUDIO"
    TRANSCRIPT_TEXT = "TRANSCRIPT_TEXT"
    TRANSCRIPT_VTT = "TRANSCRIPT_VTT"


@dataclass(frozen=True)
class DownloadLink:
    kind: DownloadKind
    file_name: str
    url: str
    expires_at: datetime
    size_bytes: int | None


@dataclass(frozen=True)
class LibraryEntry:
    audiobook: Audiobook
    purchased_at: datetime


def transcript_key(audiobook_id: uuid.UUID, fmt: str) -> str:
    return f"audiobooks/{audiobook_id}/transcript.{fmt}"


def _active(user_id: uuid.UUID) -> list[object]:
    return [Entitlement.user_id == user_id, Entitlement.revoked_at.is_(None)]  # type: ignore[union-attr]


async def list_library(
    session: AsyncSession, user_id: uuid.UUID, *, first: int | None, after: str | None
) -> Page[LibraryEntry]:
    limit = page_size(first)
    query = (
        select(Audiobook, Entitlement.granted_at)
        .join(Entitlement, Entitlement.audiobook_id == Audiobook.id)  # type: ignore[arg-type]
        .where(*_active(user_id))  # type: ignore[arg-type]
    )
    if after:
        granted, last_id = decode_cursor(after)
        query = query.where(
            func.row(Entitlement.granted_at, Audiobook.id)
            < func.row(datetime.fromisoformat(granted), uuid.UUID(last_id))
        )
    rows = (
        await session.execute(
            query.order_by(Entitlement.granted_at.desc(), Audiobook.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
        )
    ).all()
    items = [LibraryEntry(audiobook=b, purchased_at=g) for b, g in rows[:limit]]
    total = await session.scalar(select(func.count()).select_from(Entitlement).where(*_active(user_id)))  # type: ignore[arg-type]
    return Page(
        items=items,
        cursors=[encode_cursor([e.purchased_at.isoformat(), str(e.audiobook.id)]) for e in items],
        has_next_page=len(rows) > limit,
        total_count=int(total or 0),
    )


def download_links(
    storage: Storage,
    *,
    user_id: uuid.UUID,
    book: Audiobook,
    files: list[AudioFile],
    ttl_seconds: int,
) -> list[DownloadLink]:
    """Mint links now (they expire): each audio file in play order, then the transcript formats."""
    links: list[DownloadLink] = []
    for f in files:
        name = f"{f.position + 1:02d} - {f.file_name}"
        signed = storage.signed_download_url(
            f.storage_key,
            expires_in=ttl_seconds,
            filename=name,
            content_type=f.content_type,
            user_id=str(user_id),
        )
        links.append(DownloadLink(DownloadKind.AUDIO, name, signed.url, signed.expires_at, f.size_bytes))
    if book.transcript_status == TranscriptStatus.READY:
        for kind, fmt, mime in (
            (DownloadKind.TRANSCRIPT_TEXT, "txt", "text/plain; charset=utf-8"),
            (DownloadKind.TRANSCRIPT_VTT, "vtt", "text/vtt; charset=utf-8"),
        ):
            name = f"{book.title} - transcript.{fmt}"
            signed = storage.signed_download_url(
                transcript_key(book.id, fmt),
                expires_in=ttl_seconds,
                filename=name,
                content_type=mime,
                user_id=str(user_id),
            )
            links.append(DownloadLink(kind, name, signed.url, signed.expires_at, None))
    return links
