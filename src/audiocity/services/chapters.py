"""Chapters: found after transcription from spoken headings and pauses, or set by an admin.

Detection looks at every sentence start of the stitched transcript for a heading ("Chapter one",
"Part 2", "Prologue", "Epilogue", ...). A heading counts when a pause comes before it: a measured
silence in the audio (`audiocity.clips.find_silences`, moved onto the book's timeline) or a gap
between transcript segments of at least CHAPTER_MIN_SILENCE_SECONDS; a heading in the first seconds
of the book needs none. A chapter starts where the pause before its heading ends. When no heading
is found at all, long pauses alone (twice the minimum, at least MIN_CHAPTER_SECONDS apart) make
numbered chapters.

The list always starts at 0 and covers the whole book: speech before the first heading becomes an
"Opening" chapter. An admin's list (`replace_chapters`) must start at 0 too, so every second of the
book belongs to exactly one chapter. Edited chapters are marked EDITED and a later transcription
keeps them (`save_detected` writes nothing then); sending an empty list drops the edit, and the
next transcription detects chapters again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.ai.base import Segment
from audiocity.models import Audiobook, AudioFile, Chapter, ChapterSource, Transcript
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.storage_keys import CHAPTERS_FORMAT, transcript_key
from audiocity.storage.base import Storage, write_bytes

MAX_CHAPTERS = 500
MAX_TITLE = 300
OPENING_TITLE = "Opening"
HEAD_START_SECONDS = 5.0  # a heading this close to the start needs no pause before it
SNAP_BEFORE_SECONDS = 3.0  # a pause ending this long before a heading's estimated start is its pause
SNAP_AFTER_SECONDS = (
    3.5  # ... or this long after it (Whisper merges across pauses: times inside a segment are estimates)
)
MAX_SUBTITLE_WORDS = 6  # words after the heading kept as the chapter's name
MIN_CHAPTER_SECONDS = 10.0  # pause-only chapters are at least this long
LEAD_SECONDS = 0.2  # a chapter starts this much before the heading's first sound, within the pause

_NUMBER = (
    r"(?:\d+|[ivxlc]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|first|second|third|fourth|"
    r"fifth|sixth|seventh|eighth|ninth|tenth|last|final)"
)
HEADING = re.compile(
    rf"^(?:(?:chapter|part|book)\s+{_NUMBER}(?:[\s-]+{_NUMBER})?\b"
    r"|(?:prologue|epilogue|introduction|preface|foreword|afterword|interlude)\b)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?…]+[.!?…]*[\"')\]]*\s*")


@dataclass(frozen=True)
class FoundChapter:
    title: str
    start_seconds: float


@dataclass(frozen=True)
class Pause:
    """A stretch of silence on the book's timeline."""

    start: float
    end: float


def sentences(segments: Sequence[Segment]) -> list[tuple[float, str]]:
    """Every sentence with its estimated start: a segment's time spread over its characters."""
    found: list[tuple[float, str]] = []
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        span = max(0.0, seg.end - seg.start)
        for match in _SENTENCE.finditer(text):
            sentence = match.group(0).strip()
            if sentence:
                found.append((seg.start + span * match.start() / len(text), sentence))
    return found


def segment_gaps(segments: Sequence[Segment], min_seconds: float) -> list[Pause]:
    """Gaps between consecutive transcript segments (and before the first) of at least `min_seconds`."""
    gaps: list[Pause] = []
    end = 0.0
    for seg in segments:
        if not seg.text.strip():
            continue
        if seg.start - end >= min_seconds:
            gaps.append(Pause(end, seg.start))
        end = max(end, seg.end)
    return gaps


def heading_title(sentence: str) -> str:
    """The sentence as a title: no closing punctuation, first letter of each heading word upper-case."""
    title = sentence.strip().rstrip(".!?…,;: ").strip()
    match = HEADING.match(title)
    if match:
        head = " ".join(w[:1].upper() + w[1:] for w in re.split(r"\s+", match.group(0)))
        rest = title[match.end() :]
        # "Part 2, the storm" keeps its name; a long run-on is the first sentence, which the
        # transcriber joined to the heading ("Chapter 3, children read stories about ..."), not a name
        title = head if len(rest.split()) > MAX_SUBTITLE_WORDS else head + rest
    return title[:MAX_TITLE]


def _pause_before(at: float, pauses: Sequence[Pause]) -> Pause | None:
    """The pause that ends closest to `at`, within the snapping window."""
    near = [p for p in pauses if at - SNAP_BEFORE_SECONDS <= p.end <= at + SNAP_AFTER_SECONDS]
    return min(near, key=lambda p: abs(p.end - at)) if near else None


def detect(
    segments: Sequence[Segment], silences: Sequence[Pause], total_seconds: float, min_silence: float
) -> list[FoundChapter]:
    """Chapters of a book from its timeline transcript and measured pauses (both on the book's timeline)."""
    pauses = sorted(
        [p for p in silences if p.end - p.start >= min_silence] + segment_gaps(segments, min_silence),
        key=lambda p: p.end,
    )
    found: list[FoundChapter] = []
    for at, sentence in sentences(segments):
        if not HEADING.match(sentence):
            continue
        pause = _pause_before(at, pauses)
        if pause is not None:
            start = max(pause.start, pause.end - LEAD_SECONDS)
        elif at <= HEAD_START_SECONDS:
            start = 0.0
        else:
            continue
        if found and start - found[-1].start_seconds < 1.0:
            continue  # the same heading said twice, or split across segments
        found.append(FoundChapter(heading_title(sentence), round(max(0.0, start), 3)))
    if not found:
        found = _from_pauses(pauses, total_seconds, min_silence)
    return _from_zero(found, total_seconds)


def _from_pauses(pauses: Sequence[Pause], total_seconds: float, min_silence: float) -> list[FoundChapter]:
    starts: list[float] = []
    for p in pauses:
        start = max(p.start, p.end - LEAD_SECONDS)
        if p.end - p.start < 2 * min_silence or start >= total_seconds - MIN_CHAPTER_SECONDS:
            continue
        if start - (starts[-1] if starts else 0.0) >= MIN_CHAPTER_SECONDS:
            starts.append(round(start, 3))
    if not starts:
        return []
    return [FoundChapter(f"Chapter {n}", s) for n, s in enumerate([0.0, *starts], start=1)]


def _from_zero(found: list[FoundChapter], total_seconds: float) -> list[FoundChapter]:
    """Start at 0: a first chapter close to the start moves there, else an opening chapter comes first."""
    found = [c for c in found if total_seconds <= 0 or c.start_seconds < total_seconds][:MAX_CHAPTERS]
    if not found:
        return []
    if found[0].start_seconds <= HEAD_START_SECONDS:
        return [FoundChapter(found[0].title, 0.0), *found[1:]]
    return [FoundChapter(OPENING_TITLE, 0.0), *found]


# -- WebVTT ------------------------------------------------------------------------------------


def _stamp(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def render_vtt(chapters: Sequence[tuple[str, float]], total_seconds: float) -> str:
    """A chapters track (`<track kind="chapters">`): one cue per chapter, ending where the next starts."""
    lines = ["WEBVTT", ""]
    for n, (title, start) in enumerate(chapters):
        end = chapters[n + 1][1] if n + 1 < len(chapters) else max(total_seconds, start)
        lines += [f"chapter-{n + 1}", f"{_stamp(start)} --> {_stamp(end)}", title.replace("\n", " "), ""]
    return "\n".join(lines)


# -- storage -----------------------------------------------------------------------------------


async def book_seconds(session: AsyncSession, audiobook_id: uuid.UUID) -> float:
    """The length of the book's timeline: its files' durations added."""
    total = await session.scalar(
        select(func.coalesce(func.sum(col(AudioFile.duration_seconds)), 0.0)).where(
            col(AudioFile.audiobook_id) == audiobook_id
        )
    )
    return float(total or 0.0)


async def chapters_of(session: AsyncSession, audiobook_id: uuid.UUID) -> list[Chapter]:
    rows = await session.execute(
        select(Chapter).where(col(Chapter.audiobook_id) == audiobook_id).order_by(col(Chapter.position))
    )
    return list(rows.scalars())


async def chapters_for_books(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Chapter]]:
    """Every listed book's chapters in order, in one query (for the DataLoader)."""
    found: dict[uuid.UUID, list[Chapter]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(Chapter)
        .where(col(Chapter.audiobook_id).in_(list(ids)))
        .order_by(col(Chapter.audiobook_id), col(Chapter.position))
    )
    for chapter in rows.scalars():
        found[chapter.audiobook_id].append(chapter)
    return found


async def _write(
    session: AsyncSession, audiobook_id: uuid.UUID, chapters: Sequence[tuple[str, float]], source: ChapterSource
) -> None:
    await session.execute(delete(Chapter).where(col(Chapter.audiobook_id) == audiobook_id))
    if chapters:
        await session.execute(
            insert(Chapter),
            [
                {
                    "id": uuid.uuid4(),
                    "audiobook_id": audiobook_id,
                    "position": n,
                    "title": title,
                    "start_seconds": start,
                    "source": source,
                }
                for n, (title, start) in enumerate(chapters)
            ],
        )


async def refresh_vtt(session: AsyncSession, audiobook_id: uuid.UUID) -> str | None:
    """Write the chapters WebVTT into the book's transcript row; returns it (None: no transcript or no
    chapters), for the caller to store under `transcript_key(book, CHAPTERS_FORMAT)` after the commit."""
    rows = await chapters_of(session, audiobook_id)
    total = await book_seconds(session, audiobook_id)
    vtt = render_vtt([(c.title, c.start_seconds) for c in rows], total) if rows else None
    result = await session.execute(
        update(Transcript).where(col(Transcript.audiobook_id) == audiobook_id).values(chapters_vtt=vtt)
    )
    return vtt if getattr(result, "rowcount", 0) else None


async def store_vtt(storage: Storage, audiobook_id: uuid.UUID, vtt: str | None) -> None:
    """Make the chapters WebVTT object follow the committed row: written, or deleted when there is none."""
    key = transcript_key(audiobook_id, CHAPTERS_FORMAT)
    if vtt is None:
        await storage.delete(key)
    else:
        await write_bytes(storage, key, vtt.encode(), "text/vtt; charset=utf-8")


async def save_detected(
    session: AsyncSession, audiobook_id: uuid.UUID, found: Sequence[FoundChapter]
) -> tuple[bool, str | None]:
    """Replace the book's detected chapters, unless an admin has edited them; returns (written, vtt)."""
    edited = await session.scalar(
        select(col(Chapter.id))
        .where(col(Chapter.audiobook_id) == audiobook_id, col(Chapter.source) == ChapterSource.EDITED)
        .limit(1)
    )
    if edited is None:
        await _write(session, audiobook_id, [(c.title, c.start_seconds) for c in found], ChapterSource.DETECTED)
    return edited is None, await refresh_vtt(session, audiobook_id)


def validate(chapters: Sequence[tuple[str, float]], total_seconds: float) -> list[tuple[str, float]]:
    """An admin's list: titles 1..300 characters, starts ascending, the first at 0, all within the book."""
    if len(chapters) > MAX_CHAPTERS:
        raise ServiceError(ErrorCode.INVALID, f"A book can have at most {MAX_CHAPTERS} chapters.", "chapters")
    cleaned: list[tuple[str, float]] = []
    for n, (title, start) in enumerate(chapters):
        field = f"chapters.{n}"
        name = " ".join(title.split())
        if not name or len(name) > MAX_TITLE:
            raise ServiceError(
                ErrorCode.INVALID, f"Chapter {n + 1} needs a title of 1 to {MAX_TITLE} characters.", f"{field}.title"
            )
        if not (start >= 0.0) or start != start:
            raise ServiceError(ErrorCode.INVALID, f"Chapter {n + 1} cannot start before 0.", f"{field}.startSeconds")
        if n == 0 and start != 0.0:
            raise ServiceError(ErrorCode.INVALID, "The first chapter must start at 0.", f"{field}.startSeconds")
        if cleaned and start <= cleaned[-1][1]:
            raise ServiceError(
                ErrorCode.INVALID, f"Chapter {n + 1} must start after chapter {n}.", f"{field}.startSeconds"
            )
        if n > 0 and start >= total_seconds:
            raise ServiceError(
                ErrorCode.INVALID,
                f"Chapter {n + 1} starts at {start:.1f} s, past the end of the audio ({total_seconds:.1f} s).",
                f"{field}.startSeconds",
            )
        cleaned.append((name, float(start)))
    return cleaned


async def replace_chapters(
    session: AsyncSession, audiobook_id: uuid.UUID, chapters: Sequence[tuple[str, float]]
) -> str | None:
    """An admin's chapters replace the book's (kept by later transcriptions); an empty list drops the
    edit so the next transcription detects them again. Returns the new chapters WebVTT (see refresh_vtt)."""
    book = await session.get(Audiobook, audiobook_id, with_for_update=True)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    cleaned = validate(chapters, await book_seconds(session, audiobook_id))
    await _write(session, audiobook_id, cleaned, ChapterSource.EDITED)
    return await refresh_vtt(session, audiobook_id)
