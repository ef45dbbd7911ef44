"""Transcript passages: the stitched transcript cut into short runs of sentences with their times.

Search points into a passage to show a snippet and where to start playing; meaning search embeds
each passage; chapter detection looks for headings at passage starts. They are rebuilt whole each
time the transcript is stitched, so they always match it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.ai.base import Segment
from audiocity.models import TranscriptPassage

# A passage ends at the first sentence end past SOFT chars, and is cut anyway at HARD chars.
PASSAGE_SOFT_CHARS = 300
PASSAGE_HARD_CHARS = 600
_SENTENCE_ENDS = (".", "!", "?", "…", '."', '!"', '?"')


@dataclass(frozen=True)
class Passage:
    position: int
    start_seconds: float
    end_seconds: float
    text: str


def split_passages(
    segments: Sequence[Segment], soft_chars: int = PASSAGE_SOFT_CHARS, hard_chars: int = PASSAGE_HARD_CHARS
) -> list[Passage]:
    """Group timeline segments into passages of a few sentences, never splitting a segment."""
    passages: list[Passage] = []
    texts: list[str] = []
    start = end = 0.0
    size = 0

    def close() -> None:
        nonlocal texts, size
        if texts:
            passages.append(Passage(len(passages), start, end, " ".join(texts)))
        texts, size = [], 0

    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        if texts and size + len(text) > hard_chars:
            close()
        if not texts:
            start = seg.start
        texts.append(text)
        size += len(text) + 1
        end = max(seg.end, start)
        if size >= soft_chars and text.endswith(_SENTENCE_ENDS):
            close()
    close()
    return passages


async def save_passages(session: AsyncSession, audiobook_id: uuid.UUID, segments: Sequence[Segment]) -> int:
    """Replace the book's passages with those of `segments`; returns how many there are now."""
    passages = split_passages(segments)
    await session.execute(delete(TranscriptPassage).where(col(TranscriptPassage.audiobook_id) == audiobook_id))
    if passages:
        await session.execute(
            insert(TranscriptPassage),
            [
                {
                    "id": uuid.uuid4(),
                    "audiobook_id": audiobook_id,
                    "position": p.position,
                    "start_seconds": p.start_seconds,
                    "end_seconds": p.end_seconds,
                    "text": p.text,
                }
                for p in passages
            ],
        )
    return len(passages)


async def passages_of(session: AsyncSession, audiobook_id: uuid.UUID) -> list[TranscriptPassage]:
    rows = await session.execute(
        select(TranscriptPassage)
        .where(col(TranscriptPassage.audiobook_id) == audiobook_id)
        .order_by(col(TranscriptPassage.position))
    )
    return list(rows.scalars())
