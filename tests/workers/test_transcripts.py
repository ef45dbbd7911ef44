"""services.transcripts: idempotent chunks, stitching onto the book's timeline, WebVTT."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.ai.base import Segment
from audiocity.models import AudioFile, OutboxMessage, TranscriptStatus
from audiocity.services import passages, transcripts
from audiocity.tasks import REFRESH_EMBEDDINGS
from tests.factories import attach_file, make_book


async def save(
    session: AsyncSession,
    audio_file: AudioFile,
    index: int,
    start: float,
    end: float,
    segments: list[Segment],
    text: str | None = None,
) -> bool:
    return await transcripts.save_chunk(
        session,
        audio_file_id=audio_file.id,
        chunk_index=index,
        start_seconds=start,
        end_seconds=end,
        text=text if text is not None else " ".join(s.text for s in segments),
        segments=segments,
        provider="test",
        model="test-model",
    )


async def test_save_chunk_is_idempotent_per_file_and_index(session: AsyncSession) -> None:
    book = await make_book(session)
    audio_file = await attach_file(session, book)
    other_file = await attach_file(session, book, position=1)

    assert await save(session, audio_file, 0, 0.0, 10.0, [Segment(0.0, 2.0, "first run")]) is True
    assert await save(session, audio_file, 0, 0.0, 10.0, [Segment(0.0, 2.0, "second run")]) is False
    assert await save(session, audio_file, 1, 10.0, 20.0, [Segment(0.0, 2.0, "next chunk")]) is True
    assert await save(session, other_file, 0, 0.0, 10.0, [Segment(0.0, 2.0, "other file")]) is True

    assert await transcripts.chunk_text(session, audio_file.id, 0) == "first run"
    assert await transcripts.chunk_text(session, audio_file.id, 1) == "next chunk"
    assert await transcripts.chunk_text(session, audio_file.id, 2) is None
    assert await transcripts.done_chunk_indexes(session, audio_file.id) == {0, 1}
    assert await transcripts.done_chunk_indexes(session, other_file.id) == {0}


async def test_stitch_orders_files_and_chunks_and_shifts_times(session: AsyncSession) -> None:
    book = await make_book(session)
    # created out of play order, chunks saved out of index order
    second = await attach_file(session, book, position=1, duration=20.0)
    first = await attach_file(session, book, position=0, duration=10.0)
    await save(session, second, 0, 0.0, 20.0, [Segment(1.0, 4.0, "second file")])
    await save(session, first, 1, 6.0, 10.0, [Segment(0.0, 3.0, "first file, chunk one")])
    await save(session, first, 0, 0.0, 6.0, [Segment(0.0, 2.0, "first file,"), Segment(2.0, 5.0, "chunk zero")])

    stitched = await transcripts.stitch(session, book.id)

    assert stitched.segments == [
        Segment(0.0, 2.0, "first file,"),
        Segment(2.0, 5.0, "chunk zero"),
        Segment(6.0, 9.0, "first file, chunk one"),  # chunk start added
        Segment(11.0, 14.0, "second file"),  # shifted by the first file's 10 s
    ]
    assert stitched.text == "first file, chunk zero first file, chunk one second file"
    assert stitched.vtt == transcripts.to_vtt(stitched.segments)


async def test_stitch_keeps_the_timeline_monotonic(session: AsyncSession) -> None:
    book = await make_book(session)
    first = await attach_file(session, book, position=0, duration=12.0)
    second = await attach_file(session, book, position=1, duration=8.0)
    # chunks overlap (cut with a little context), a segment runs past its chunk, blank text is dropped
    await save(session, first, 0, 0.0, 6.0, [Segment(0.0, 5.5, "one"), Segment(5.5, 7.5, "two")])
    await save(session, first, 1, 5.0, 12.0, [Segment(0.0, 1.0, "  "), Segment(0.2, 3.0, "three")])
    await save(session, second, 0, 0.0, 8.0, [Segment(0.0, 30.0, "four")])

    stitched = await transcripts.stitch(session, book.id)

    assert [s.text for s in stitched.segments] == ["one", "two", "three", "four"]
    starts = [s.start for s in stitched.segments]
    assert starts == sorted(starts)
    for previous, current in zip(stitched.segments, stitched.segments[1:], strict=False):
        assert current.start >= previous.end
    for segment in stitched.segments:
        assert segment.end >= segment.start
    assert stitched.segments[1] == Segment(5.5, 6.0, "two")  # clipped to the chunk's end
    assert stitched.segments[2] == Segment(6.0, 8.0, "three")  # pushed past the previous end
    assert stitched.segments[3] == Segment(12.0, 20.0, "four")  # clipped to the file's end


async def test_stitch_uses_the_chunk_text_when_a_chunk_has_no_segments(session: AsyncSession) -> None:
    book = await make_book(session)
    audio_file = await attach_file(session, book, duration=30.0)
    await save(session, audio_file, 0, 0.0, 10.0, [], text="no timestamps here")
    await save(session, audio_file, 1, 10.0, 30.0, [], text="nor here")

    stitched = await transcripts.stitch(session, book.id)

    assert stitched.segments == [Segment(0.0, 10.0, "no timestamps here"), Segment(10.0, 30.0, "nor here")]


async def test_stitch_of_a_book_without_chunks(session: AsyncSession) -> None:
    book = await make_book(session)
    await attach_file(session, book)
    stitched = await transcripts.stitch(session, book.id)
    assert (stitched.text, stitched.segments, stitched.vtt) == ("", [], "WEBVTT\n")


def test_to_vtt_format() -> None:
    vtt = transcripts.to_vtt(
        [
            Segment(0.0, 1.5, "Hello there."),
            Segment(61.25, 62.0, "A minute in."),
            Segment(3723.4567, 3723.0, "Hours later, ends before it starts."),
        ]
    )

    assert vtt == (
        "WEBVTT\n"
        "\n"
        "1\n"
        "00:00:00.000 --> 00:00:01.500\n"
        "Hello there.\n"
        "\n"
        "2\n"
        "00:01:01.250 --> 00:01:02.000\n"
        "A minute in.\n"
        "\n"
        "3\n"
        "01:02:03.457 --> 01:02:03.457\n"
        "Hours later, ends before it starts.\n"
    )


def test_to_vtt_rounds_without_producing_1000_milliseconds() -> None:
    vtt = transcripts.to_vtt([Segment(59.9996, 60.0, "edge")])
    assert "00:01:00.000 --> 00:01:00.000" in vtt


async def test_save_transcript_upserts(session: AsyncSession) -> None:
    book = await make_book(session)
    first = transcripts.Stitched(text="old", vtt="WEBVTT\n", segments=[])
    second = transcripts.Stitched(text="new", vtt=transcripts.to_vtt([Segment(0, 1, "new")]), segments=[])

    await transcripts.save_transcript(session, book.id, first)
    await transcripts.save_transcript(session, book.id, second)

    stored = await transcripts.get_transcript(session, book.id)
    assert stored is not None
    await session.refresh(stored)
    assert (stored.text, stored.vtt) == ("new", second.vtt)


async def test_save_summary_sets_tags_and_status(session: AsyncSession) -> None:
    book = await make_book(session)
    await transcripts.save_summary(session, book.id, "It is about a river.", ["river", "water", "boats"])
    await session.refresh(book)
    assert (book.summary, book.tags, book.transcript_status) == (
        "It is about a river.",
        ["river", "water", "boats"],
        TranscriptStatus.READY,
    )
    # an unknown book is ignored (it may have been deleted while the job ran)
    await transcripts.save_summary(session, uuid.uuid4(), "x", [])


@pytest.mark.parametrize("status", [TranscriptStatus.RUNNING, TranscriptStatus.FAILED])
async def test_set_transcript_status(session: AsyncSession, status: TranscriptStatus) -> None:
    book = await make_book(session)
    await transcripts.set_transcript_status(session, book.id, status)
    await session.refresh(book)
    assert book.transcript_status is status


async def test_passages_are_rebuilt_from_the_stored_chunks_and_their_embedding_queued(session: AsyncSession) -> None:
    """`audiocity reindex`: a transcript stitched before passages existed becomes searchable."""
    book = await make_book(session)
    audio = await attach_file(session, book, duration=30.0)
    spoken = [Segment(0.0, 4.0, "The keeper climbs the stairs."), Segment(5.0, 9.0, "The lamp is lit.")]
    await save(session, audio, 0, 0.0, 30.0, spoken)
    await transcripts.save_transcript(session, book.id, await transcripts.stitch(session, book.id))
    assert await passages.passages_of(session, book.id) == []  # as an older version left it

    assert book.id in await transcripts.transcribed_books(session)
    assert await transcripts.rebuild_passages(session, book.id) == 1
    [passage] = await passages.passages_of(session, book.id)
    assert (passage.start_seconds, passage.end_seconds) == (0.0, 9.0)
    assert passage.text == "The keeper climbs the stairs. The lamp is lit."
    queued = await session.execute(
        select(col(OutboxMessage.args)).where(col(OutboxMessage.actor_name) == REFRESH_EMBEDDINGS)
    )
    assert [str(book.id)] in [list(a) for a in queued.scalars()]


def test_the_reindex_command_reports_what_it_rebuilt(
    database_url: str, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audiocity import cli
    from audiocity.config import Settings

    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url, AUDIOCITY_DATA_DIR=tmp_path)
    assert cli.reindex(settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("reindexed ") and "passages; their embeddings are queued" in out
