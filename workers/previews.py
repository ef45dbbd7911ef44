"""The `cut_preview` actor: cut a published book's sample clip with PyAV and store it.

Queued by publishing and by a new range on a published book (services/previews.py). The audio
files the range touches are fetched (or linked, on local storage), cut and encoded in a thread,
stored under a new key, and only then is the book pointed at the new clip and the old one deleted.
A draft or a book without audio is skipped; a deleted book's fresh clip is removed again.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import dramatiq

from audiocity.clips import CLIP_CONTENT_TYPE, CLIP_EXTENSION, ClipPart, cut_clip
from audiocity.db import session_scope
from audiocity.services import previews
from audiocity.services.audio_files import probe_copy
from audiocity.services.storage_keys import preview_key
from audiocity.tasks import CUT_PREVIEW
from workers import resources
from workers.resources import Resources

log = logging.getLogger(__name__)


async def cut_book_preview(res: Resources, audiobook_id: str) -> str | None:
    """Cut and store the clip; returns its storage key, or None when there is nothing to cut."""
    book_id = uuid.UUID(audiobook_id)
    async with session_scope(res.sessions) as session:
        plan = await previews.plan_cut(session, book_id, res.settings.preview_seconds)
    if plan is None or not plan.parts:
        log.info("no preview to cut for %s (gone, a draft, or no audio)", audiobook_id)
        return None
    with tempfile.TemporaryDirectory(prefix="audiocity-preview-") as tmp:
        out = Path(tmp) / f"preview{CLIP_EXTENSION}"
        async with AsyncExitStack() as stack:
            parts = []
            for n, part in enumerate(plan.parts):
                name = f"{n:03d}-{part.audio_file.id}{Path(part.audio_file.file_name).suffix[:10]}"
                path = await stack.enter_async_context(probe_copy(res.storage, part.audio_file.storage_key, name))
                parts.append(ClipPart(path, part.start, part.end))
            seconds = await asyncio.to_thread(cut_clip, parts, out, res.settings.preview_bit_rate)
        key = preview_key(book_id, CLIP_EXTENSION)
        stored = await res.storage.write(key, _read(out), CLIP_CONTENT_TYPE)
    async with session_scope(res.sessions) as session:
        stale = await previews.save_cut(
            session, book_id, key=key, start_seconds=plan.start_seconds, duration_seconds=round(seconds, 3),
            size_bytes=stored.size, content_type=CLIP_CONTENT_TYPE,
        )  # fmt: skip
    if stale:
        await res.storage.delete(stale)
    log.info("preview of %s: %.1f s from %.1f s, %d bytes", audiobook_id, seconds, plan.start_seconds, stored.size)
    return key if stale != key else None


async def _read(path: Path) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(path.read_bytes)


@dramatiq.actor(actor_name=CUT_PREVIEW, max_retries=3, time_limit=30 * 60 * 1000)
async def cut_preview(audiobook_id: str) -> None:
    await cut_book_preview(resources.current(), audiobook_id)
