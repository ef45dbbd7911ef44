"""Chapter detection on the book's timeline, pauses measured with PyAV, and chapters in the downloads."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.ai.base import Segment
from audiocity.clips import find_silences
from audiocity.models import DownloadKind
from audiocity.services import bundles, chapters, downloads
from audiocity.services.chapters import FoundChapter, Pause, detect
from audiocity.storage.local import LocalStorage
from tests.fixtures.audio import tone_file
from tests.library.helpers import add_file, make_book, mark_transcribed


def test_headings_after_pauses_start_chapters_on_the_book_timeline() -> None:
    # Two files of 30 s: file 2's segments are already moved by 30 s (services.transcripts.stitch does it).
    segments = [
        Segment(0.0, 6.0, "Prologue. It was a dark night."),
        Segment(6.5, 12.0, "The wind rose. Nobody slept."),
        Segment(15.0, 20.0, "Chapter One. The keeper woke."),  # after a 3 s gap between segments
        Segment(20.0, 28.0, "He said chapter two would wait."),  # "chapter" mid-sentence: no heading
        Segment(30.4, 33.0, "Part 2, the storm."),  # the measured pause ends here
        Segment(33.0, 40.0, "It rained."),
        Segment(40.0, 45.0, "Chapter three. Never mind."),  # a heading without a pause before it: ignored
    ]
    silences = [Pause(28.2, 30.4)]
    found = detect(segments, silences, total_seconds=60.0, min_silence=1.5)
    assert found == [
        FoundChapter("Prologue", 0.0),
        FoundChapter("Chapter One", 14.8),
        FoundChapter("Part 2, the storm", 30.2),
    ]


def test_speech_before_the_first_heading_is_an_opening_chapter() -> None:
    segments = [Segment(0.0, 20.0, "Thanks for listening."), Segment(24.0, 30.0, "Chapter 1. Morning.")]
    found = detect(segments, [], total_seconds=40.0, min_silence=1.5)
    assert found == [FoundChapter("Opening", 0.0), FoundChapter("Chapter 1", 23.8)]


def test_without_headings_long_pauses_make_numbered_chapters() -> None:
    silences = [Pause(20.0, 24.0), Pause(30.0, 31.0), Pause(50.0, 54.0), Pause(95.0, 99.0)]
    found = detect([], silences, total_seconds=100.0, min_silence=1.5)
    # the 1 s pause is too short; the last one leaves less than 10 s: not a chapter
    assert found == [FoundChapter("Chapter 1", 0.0), FoundChapter("Chapter 2", 23.8), FoundChapter("Chapter 3", 53.8)]
    assert detect([], [], total_seconds=100.0, min_silence=1.5) == []


def test_pauses_are_measured_with_pyav(tmp_path: Path) -> None:
    path = tone_file(tmp_path / "book.mp3", 12.0, silences=[(3.0, 5.0), (8.0, 8.5)])
    found = find_silences(path, min_seconds=1.0)
    assert len(found) == 1  # the half-second pause is too short
    assert abs(found[0].start - 3.0) < 0.1 and abs(found[0].end - 5.0) < 0.1


def test_the_chapters_track_is_webvtt_with_one_cue_per_chapter() -> None:
    vtt = chapters.render_vtt([("Opening", 0.0), ("Chapter 1", 61.5)], 3725.25)
    assert vtt == (
        "WEBVTT\n\nchapter-1\n00:00:00.000 --> 00:01:01.500\nOpening\n\n"
        "chapter-2\n00:01:01.500 --> 01:02:05.250\nChapter 1\n"
    )


async def test_chapters_are_a_download_and_a_bundle_member_once_the_book_has_them(session: AsyncSession) -> None:
    book = await make_book(session)
    audio = await add_file(session, book, position=0, duration=120.0)
    await mark_transcribed(session, book, "text", "WEBVTT\n")
    storage = LocalStorage(Path("/nonexistent"), "secret", "http://test")

    def kinds() -> list[DownloadKind]:
        links = downloads.download_links(
            storage, user_id=uuid.uuid4(), book=book, files=[audio], ttl_seconds=60, transcript_bytes=sizes
        )
        return [link.kind for link in links]

    sizes = (await downloads.transcript_sizes(session, [book.id]))[book.id]
    assert kinds() == [DownloadKind.AUDIO, DownloadKind.TRANSCRIPT_TEXT, DownloadKind.TRANSCRIPT_VTT]

    vtt = await chapters.replace_chapters(session, book.id, [("Opening", 0.0), ("Two", 60.0)])
    assert vtt is not None
    sizes = (await downloads.transcript_sizes(session, [book.id]))[book.id]
    assert sizes["chapters.vtt"] == len(vtt.encode())
    assert kinds()[-1] is DownloadKind.CHAPTERS_VTT
    names = [m.name for m in bundles.members_for(book, [audio], sizes)]
    assert names[-1] == f"{book.title}/{book.title} - chapters.vtt"
    target = await downloads.resolve_key(session, f"audiobooks/{book.id}/transcript.chapters.vtt")
    assert target is not None and target.kind is DownloadKind.CHAPTERS_VTT


def test_a_heading_keeps_a_short_name_but_not_the_sentence_run_into_it() -> None:
    assert chapters.heading_title("Part 2, the storm.") == "Part 2, the storm"
    assert chapters.heading_title("chapter three: The Long Night") == "Chapter Three: The Long Night"
    run_on = "Chapter 3, children read stories about dragons and ships after school."
    assert chapters.heading_title(run_on) == "Chapter 3"
