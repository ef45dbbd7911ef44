"""Chapters found by the real local pipeline (Whisper tiny.en) on a two-file book of espeak-ng speech
with spoken headings and planted pauses (tests/fixtures/chapters, see scripts/make_chapter_fixtures.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from workers.transcription import run_transcription

from audiocity.db import session_scope
from audiocity.models import ChapterSource, JobStatus, Transcript
from audiocity.services import chapters
from audiocity.services.storage_keys import CHAPTERS_FORMAT, transcript_key
from tests.workers.conftest import Harness

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chapters"
EXPECTED = json.loads((FIXTURES / "chapters.json").read_text())["headings"]
LOCAL = {"OPENAI_API_KEY": "", "TRANSCRIPTION_CHUNK_SECONDS": 60, "TRANSCRIPTION_CONCURRENCY": 1}


async def _transcribe(harness: Harness, book_id: uuid.UUID) -> None:
    job_id = await harness.queue(book_id)
    await run_transcription(harness.resources(**LOCAL), job_id)
    job = await harness.job(job_id)
    assert job.status is JobStatus.SUCCEEDED, job.error


async def test_spoken_headings_after_pauses_become_chapters_across_two_files(harness: Harness) -> None:
    book_id = await harness.book(sorted(FIXTURES.glob("part-*.mp3")), title=f"Chapters {uuid.uuid4()}")
    await _transcribe(harness, book_id)

    async with harness.sessions() as s:
        found = await chapters.chapters_of(s, book_id)
        transcript = await s.get(Transcript, book_id)
    # Chapter one is spoken 0.5 s in: it starts the book. Chapter three is spoken in the second file,
    # 5.9 s into it: its start is on the book's timeline (the first file lasts 13 s).
    assert [c.title for c in found] == ["Chapter 1", "Chapter 2", "Chapter 3"]  # as Whisper writes them
    assert found[0].start_seconds == 0.0
    for chapter, expected in zip(found[1:], EXPECTED[1:], strict=True):
        assert expected["start_seconds"] - 0.6 <= chapter.start_seconds <= expected["start_seconds"], chapter
    assert all(c.source is ChapterSource.DETECTED for c in found)

    # The chapters WebVTT: in the transcript row and in storage, one cue per chapter, the last ending at the end.
    assert transcript is not None and transcript.chapters_vtt is not None
    stored = b"".join([block async for block in harness.storage.read(transcript_key(book_id, CHAPTERS_FORMAT))])
    assert stored.decode() == transcript.chapters_vtt
    async with harness.sessions() as s:
        total = await chapters.book_seconds(s, book_id)
    assert 24 < total < 25
    cues = [line for line in transcript.chapters_vtt.splitlines() if "-->" in line]
    assert len(cues) == 3 and cues[0].startswith("00:00:00.000 --> ")
    assert cues[-1].endswith(chapters._stamp(total))


async def test_edited_chapters_survive_a_new_transcription_and_an_empty_list_hands_back_to_detection(
    harness: Harness,
) -> None:
    book_id = await harness.book(sorted(FIXTURES.glob("part-*.mp3")), title=f"Edited {uuid.uuid4()}")
    async with session_scope(harness.sessions) as s:
        await chapters.replace_chapters(s, book_id, [("Start", 0.0), ("Storm", 7.0)])
    await _transcribe(harness, book_id)
    async with harness.sessions() as s:
        kept = await chapters.chapters_of(s, book_id)
        transcript = await s.get(Transcript, book_id)
    assert [(c.title, c.start_seconds, c.source) for c in kept] == [
        ("Start", 0.0, ChapterSource.EDITED),
        ("Storm", 7.0, ChapterSource.EDITED),
    ]
    assert transcript is not None and transcript.chapters_vtt is not None and "Storm" in transcript.chapters_vtt

    async with session_scope(harness.sessions) as s:
        assert await chapters.replace_chapters(s, book_id, []) is None
    async with session_scope(harness.sessions) as s:  # what the next transcription's chapter step does
        written, vtt = await chapters.save_detected(s, book_id, [chapters.FoundChapter("Chapter One", 0.0)])
    assert written and vtt is not None and "Chapter One" in vtt
