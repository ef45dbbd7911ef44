"""The chapters step at the end of a transcription: measure pauses, detect, store, write the WebVTT.

Pauses are measured on every file with PyAV (`audiocity.clips.find_silences`) and moved onto the
book's timeline; a file that cannot be read is left out (the transcript's own gaps still count).
Chapters an admin edited are kept (services/chapters.py), but their WebVTT is written again, since
the book's length may have changed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence

from audiocity.ai.base import Segment
from audiocity.audio import NotAudioError
from audiocity.clips import find_silences
from audiocity.db import session_scope
from audiocity.services import chapters
from audiocity.services.audio_files import files_of_book, probe_copy
from audiocity.services.storage_keys import CHAPTERS_FORMAT, transcript_key
from audiocity.storage.base import ObjectNotFound
from workers.resources import Resources

log = logging.getLogger(__name__)


async def book_silences(res: Resources, audiobook_id: uuid.UUID, min_seconds: float) -> list[chapters.Pause]:
    async with session_scope(res.sessions) as session:
        files = await files_of_book(session, audiobook_id)
    found: list[chapters.Pause] = []
    offset = 0.0
    for f in files:
        try:
            async with probe_copy(res.storage, f.storage_key, f"{f.id}-{f.file_name}"[-200:]) as path:
                silences = await asyncio.to_thread(find_silences, path, min_seconds)
            found += [chapters.Pause(offset + s.start, offset + s.end) for s in silences]
        except (ObjectNotFound, NotAudioError, OSError):
            log.warning("could not measure pauses in %r", f.file_name, exc_info=True)
        offset += f.duration_seconds
    return found


async def detect_chapters(res: Resources, audiobook_id: uuid.UUID, segments: Sequence[Segment]) -> None:
    """Detect and store the book's chapters (unless edited) and write the chapters WebVTT object."""
    min_seconds = res.settings.chapter_min_silence_seconds
    silences = await book_silences(res, audiobook_id, min_seconds)
    async with session_scope(res.sessions) as session:
        total = sum(f.duration_seconds for f in await files_of_book(session, audiobook_id))
        found = chapters.detect(segments, silences, total, min_seconds)
        written, vtt = await chapters.save_detected(session, audiobook_id, found)
    if vtt is not None:
        await res.storage.write(
            transcript_key(audiobook_id, CHAPTERS_FORMAT), _once(vtt.encode()), "text/vtt; charset=utf-8"
        )
    log.info("chapters of %s: %s", audiobook_id, f"{len(found)} detected" if written else "kept (edited by an admin)")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
