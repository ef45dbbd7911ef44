"""The pipeline in-process against the fake OpenAI server: order, prompts, retries, resuming, re-stitching."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import uuid
from pathlib import Path

import dramatiq
import pytest
from workers.transcription import lane_length, retry_delay_ms, run_transcription, should_retry

from audiocity.ai.base import first_section
from audiocity.ai.openai_provider import prompt_tail
from audiocity.broker import QUEUE, make_broker
from audiocity.db import session_scope
from audiocity.events import Publisher
from audiocity.models import Audiobook, JobStatus, TranscriptStatus
from audiocity.services import audio_files as file_service
from audiocity.services import transcripts
from audiocity.services.storage_keys import transcript_key
from audiocity.tasks import SEND_NOTICE
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest
from tests.fakes.recording import queued_messages
from tests.workers.conftest import (
    CHUNK_SECONDS,
    ExpectedChunk,
    Harness,
    expected_chunks,
    tone_wav,
    with_db,
)

CUE = re.compile(r"^(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})$")


def cues(vtt: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of every cue of a WebVTT file."""
    lines = vtt.splitlines()
    assert lines[0] == "WEBVTT"
    found = []
    for n, line in enumerate(lines):
        m = CUE.match(line)
        if m:
            h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, m.groups())
            found.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, lines[n + 1]))
    return found


def transcriptions(fake: FakeOpenAI) -> list[RecordedRequest]:
    return fake.requests_for("transcriptions")


def sent(fake: FakeOpenAI) -> list[str]:
    """SHA-1 of every chunk sent, in arrival order."""
    return [r.file_sha1 or "" for r in transcriptions(fake)]


def joined(chunks: list[ExpectedChunk]) -> str:
    return " ".join(c.text for c in chunks)


async def stored_transcript(harness: Harness, book_id: uuid.UUID) -> tuple[str, str]:
    async with harness.sessions() as session:
        transcript = await transcripts.get_transcript(session, book_id)
        assert transcript is not None
        return transcript.text, transcript.vtt


async def test_chunks_finishing_out_of_order_stitch_in_play_order(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path
) -> None:
    expected = expected_chunks(sources, tmp_path)
    assert [(c.file_name, c.index) for c in expected] == [
        ("part-1.wav", 0), ("part-1.wav", 1), ("part-1.wav", 2), ("part-2.wav", 0), ("part-2.wav", 1),
    ]  # fmt: skip
    position = {c.sha1: n for n, c in enumerate(expected)}
    fake.latency_for = lambda data, name: 0.2 * (len(expected) - position[__import__("hashlib").sha1(data).hexdigest()])
    res = harness.resources(SUMMARY_SECTION_CHARS=300)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(res, job_id)

    requests = transcriptions(fake)
    by_finish = sorted(requests, key=lambda r: r.finished or 0)
    assert [position[r.file_sha1 or ""] for r in by_finish] == [4, 3, 2, 1, 0], "later chunks finished first"
    assert sorted(sent(fake)) == sorted(c.sha1 for c in expected), "each chunk sent once"
    assert all((r.model, r.response_format, r.prompt) == ("whisper-1", "verbose_json", None) for r in requests)

    text, vtt = await stored_transcript(harness, book_id)
    assert text == joined(expected)
    timeline = cues(vtt)
    assert " ".join(t for _s, _e, t in timeline) == text
    starts = [s for s, _e, _t in timeline]
    assert starts == sorted(starts) and all(s <= e for s, e, _t in timeline)
    assert all(e1 <= s2 for (_s1, e1, _t1), (s2, _e2, _t2) in itertools.pairwise(timeline))
    first_duration = 10.0
    second_file = [c for c in timeline if c[2].startswith("chunk " + expected[3].sha1[:8])]
    assert second_file[0][0] == pytest.approx(first_duration, abs=0.002), "file 2 starts where file 1 ends"
    assert timeline[-1][1] == pytest.approx(16.0, abs=0.01)
    assert await harness.storage.stat(transcript_key(book_id, "txt")) is not None
    chunks = [piece async for piece in harness.storage.read(transcript_key(book_id, "vtt"))]
    assert b"".join(chunks).decode() == vtt

    job = await harness.job(job_id)
    assert (job.status, job.stage, job.progress, job.error) == (JobStatus.SUCCEEDED, "done", 1.0, None)
    assert (job.chunks_done, job.chunks_total, job.attempts) == (5, 5, 1)
    assert job.started_at is not None and job.finished_at is not None
    whisper = job.usage["transcription"]["openai/whisper-1"]
    assert whisper["requests"] == 5
    assert whisper["audio_seconds"] == pytest.approx(16.0, abs=0.01)
    summary_usage = job.usage["summary"]["openai/gpt-4o-mini"]
    assert summary_usage["requests"] == 1 and summary_usage["prompt_tokens"] > 0
    assert summary_usage["completion_tokens"] > 0
    assert set(job.usage["timings"]) >= {"transcribe_seconds", "stitch_seconds", "summarize_seconds", "run_seconds"}

    [chat] = fake.requests_for("chat")
    assert chat.fields["messages"][-1]["content"] == first_section(text, 300), "only the first section"
    book = await harness.book_row(book_id)
    assert book.transcript_status == TranscriptStatus.READY
    assert book.summary and "\n" not in book.summary
    assert len(book.tags) == 3 == len(set(book.tags)) and all(t == t.lower() for t in book.tags)


async def test_each_lane_passes_the_previous_chunks_text_as_prompt(
    harness: Harness, fake: FakeOpenAI, tmp_path: Path
) -> None:
    source = tone_wav(tmp_path / "long.wav", 24, [(3.4 + 3.6 * k, 3.8 + 3.6 * k) for k in range(6)], seed=3)
    expected = expected_chunks([source], tmp_path)
    lane = lane_length([24.0], CHUNK_SECONDS, 2)
    assert (len(expected), lane) == (7, 2)
    fake.latency = 0.05
    book_id = await harness.book([source])

    await run_transcription(harness.resources(TRANSCRIPTION_CONCURRENCY=2), await harness.queue(book_id))

    prompts = {r.file_sha1: r.prompt for r in transcriptions(fake)}
    for chunk in expected:
        if chunk.index % lane == 0:
            assert prompts[chunk.sha1] is None, f"chunk {chunk.index} starts a lane"
        else:
            assert prompts[chunk.sha1] == prompt_tail(expected[chunk.index - 1].text), chunk.index
    spans = sorted((r.started, r.finished or 0) for r in transcriptions(fake))
    busiest = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    assert busiest <= 2, "never more than TRANSCRIPTION_CONCURRENCY requests at once"
    assert (await stored_transcript(harness, book_id))[0] == joined(expected)


async def test_a_transient_failure_retries_that_request_while_the_others_go_on(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path
) -> None:
    expected = expected_chunks(sources, tmp_path)
    failing = expected[2]
    fake.fail_file(failing.sha1, "429", retry_after=0.3)
    res = harness.resources(TRANSCRIPTION_CONCURRENCY=2)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(res, job_id)

    job = await harness.job(job_id)
    assert (job.status, job.attempts, job.chunks_done, job.error) == (JobStatus.SUCCEEDED, 1, 5, None)
    [retry] = job.retries
    assert retry["what"] == "'part-1.wav', chunk 3 (0:07-0:10)" and retry["attempt"] == 1
    assert "HTTP 429" in retry["error"] and retry["rate_limited"] is True
    assert 0.3 <= retry["waited_seconds"] <= 0.36, "Retry-After is the minimum"
    assert job.usage["transcription"]["openai/whisper-1"]["failed_requests"] == 1
    assert sorted(sent(fake)) == sorted([c.sha1 for c in expected] + [failing.sha1]), "only the failed one twice"
    failed_at = next(r.finished for r in transcriptions(fake) if r.fault == "429")
    retried_at = [r.started for r in transcriptions(fake) if r.file_sha1 == failing.sha1][1]
    assert failed_at is not None
    others_during_wait = [
        r for r in transcriptions(fake) if r.file_sha1 != failing.sha1 and failed_at < r.started < retried_at
    ]
    assert others_during_wait, "other chunks were sent while the failed one waited"
    assert (await stored_transcript(harness, book_id))[0] == joined(expected)


async def test_a_request_failing_beyond_its_budget_fails_the_job_naming_it_and_start_transcription_resumes(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path, redis_url: str
) -> None:
    expected = expected_chunks(sources, tmp_path)
    fake.fail_file(expected[1].sha1, "503", times=3)
    res = harness.resources(TRANSCRIPTION_CONCURRENCY=2, AI_REQUEST_MAX_ATTEMPTS=3)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(res, job_id)

    job = await harness.job(job_id)
    assert (job.status, job.stage, job.attempts) == (JobStatus.FAILED, "failed", 1)
    assert job.error == (
        "Gave up after 3 tries: 'part-1.wav', chunk 2 (0:03-0:07): "
        "OpenAI request failed (HTTP 503): Injected fault 503."
    )
    assert fake.tries_of(expected[1].sha1) == 3, "no try beyond the budget"
    assert [r["attempt"] for r in job.retries] == [1, 2], "the last failure is the error, not a retry"
    assert job.usage["transcription"]["openai/whisper-1"]["failed_requests"] == 3
    assert (await harness.book_row(book_id)).transcript_status == TranscriptStatus.FAILED
    before = sent(fake)

    broker = make_broker(with_db(redis_url, 11))
    broker.declare_queue(QUEUE)
    try:
        async with session_scope(harness.sessions) as session:
            again = await file_service.start_transcription(session, Publisher(harness.redis), book_id, force=False)
        assert str(again.id) != job_id
        await run_transcription(res, str(again.id))
    finally:
        broker.flush_all()

    resumed = await harness.job(str(again.id))
    assert (resumed.status, resumed.chunks_done, resumed.chunks_total) == (JobStatus.SUCCEEDED, 5, 5)
    finished_before = set(before) - {expected[1].sha1}
    assert sorted(sent(fake)[len(before) :]) == sorted(c.sha1 for c in expected if c.sha1 not in finished_before)
    assert (await stored_transcript(harness, book_id))[0] == joined(expected)


async def test_a_permanent_failure_fails_at_once(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path, redis_url: str
) -> None:
    expected = expected_chunks(sources, tmp_path)
    fake.fail_file(expected[3].sha1, "400")
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    broker = make_broker(with_db(redis_url, 11))
    broker.flush_all()
    try:
        await run_transcription(harness.resources(AI_REQUEST_MAX_ATTEMPTS=5, TRANSCRIPTION_CONCURRENCY=1), job_id)
        alerts = [(m.actor_name, m.args) for m in queued_messages(broker)]
    finally:
        broker.flush_all()

    job = await harness.job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == "'part-2.wav', chunk 1 (0:00-0:03): OpenAI request failed (HTTP 400): Injected fault 400."
    assert alerts == [(SEND_NOTICE, ("job_failed", job_id))]  # the admins hear of it once the row is FAILED
    assert job.attempts == 1 and job.chunks_done == len(transcriptions(fake)) - 1
    assert fake.requests_for("chat") == []


async def test_audio_that_cannot_be_decoded_fails_with_the_file_name(harness: Harness, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF" + b"\0" * 100)
    good = tone_wav(tmp_path / "good.wav", 3, [], seed=4)
    book_id = await harness.book([good])
    async with session_scope(harness.sessions) as session:
        book = await session.get(Audiobook, book_id)
        assert book is not None
        await harness.add_file(session, book, broken, 1, duration=1.0)  # probe() refuses it: it slipped through
    job_id = await harness.queue(book_id)

    await run_transcription(harness.resources(), job_id)

    job = await harness.job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error is not None and "'broken.wav'" in job.error


async def test_reordering_and_adding_files_restitches_without_sending_finished_chunks(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path, redis_url: str
) -> None:
    expected = expected_chunks(sources, tmp_path)
    res = harness.resources()
    book_id = await harness.book(sources)
    await run_transcription(res, await harness.queue(book_id))
    fake.reset()

    broker = make_broker(with_db(redis_url, 11))
    broker.declare_queue(QUEUE)
    try:
        async with session_scope(harness.sessions) as session:
            files = await file_service.files_of_book(session, book_id)
            await file_service.reorder_audio_files(
                session, Publisher(harness.redis), book_id, [files[1].id, files[0].id]
            )
        job_id = await harness.queue(book_id)  # the one reorder queued
        await run_transcription(res, job_id)
    finally:
        broker.flush_all()

    assert transcriptions(fake) == [], "nothing is transcribed again"
    assert len(fake.requests_for("chat")) == 1
    text, vtt = await stored_transcript(harness, book_id)
    assert text == joined(expected[3:] + expected[:3])
    timeline = cues(vtt)
    first_of_part_1 = next(c for c in timeline if c[2].startswith("chunk " + expected[0].sha1[:8]))
    assert first_of_part_1[0] == pytest.approx(6.0, abs=0.002), "part 1 now starts after part 2's 6 s"
    job = await harness.job(job_id)
    assert (job.status, job.chunks_done, job.chunks_total) == (JobStatus.SUCCEEDED, 5, 5)
    assert "transcription" not in job.usage

    extra = tone_wav(tmp_path / "part-3.wav", 5, [(3.4, 3.8)], seed=5)
    more = expected_chunks([extra], tmp_path)
    async with session_scope(harness.sessions) as session:
        book = await session.get(Audiobook, book_id)
        assert book is not None
        await harness.add_file(session, book, extra, 2)
    await run_transcription(res, await harness.queue(book_id))

    assert sorted(sent(fake)) == sorted(c.sha1 for c in more), "only the new file"
    assert (await stored_transcript(harness, book_id))[0] == joined(expected[3:] + expected[:3] + more)


async def test_chunks_cut_differently_before_are_redone(harness: Harness, fake: FakeOpenAI, tmp_path: Path) -> None:
    source = tone_wav(tmp_path / "one.wav", 10, [(3.4, 3.8), (7.0, 7.4)], seed=6)
    old = expected_chunks([source], tmp_path)
    new = expected_chunks([source], tmp_path / "new", chunk_seconds=5)
    fake.fail_file(old[1].sha1, "400")
    book_id = await harness.book([source])
    await run_transcription(harness.resources(TRANSCRIPTION_CONCURRENCY=1), await harness.queue(book_id))
    assert sent(fake) == [old[0].sha1, old[1].sha1]

    job_id = await harness.queue(book_id)
    await run_transcription(harness.resources(TRANSCRIPTION_CHUNK_SECONDS=5), job_id)

    assert (await harness.job(job_id)).status == JobStatus.SUCCEEDED
    assert sorted(sent(fake)[2:]) == sorted(c.sha1 for c in new)
    assert (await stored_transcript(harness, book_id))[0] == joined(new)


async def test_a_duplicate_delivery_waits_and_sends_nothing_twice(
    harness: Harness, fake: FakeOpenAI, sources: list[Path], tmp_path: Path
) -> None:
    expected = expected_chunks(sources, tmp_path)
    fake.latency = 0.1
    res = harness.resources(TRANSCRIPTION_CONCURRENCY=2)
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await asyncio.gather(run_transcription(res, job_id), run_transcription(res, job_id))

    assert sorted(sent(fake)) == sorted(c.sha1 for c in expected)
    assert len(fake.requests_for("chat")) == 1
    job = await harness.job(job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)


async def test_silence_gives_an_empty_transcript_and_no_summary_request(
    harness: Harness, fake: FakeOpenAI, sources: list[Path]
) -> None:
    fake.transcript_for = lambda data, name: ""
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(harness.resources(), job_id)

    job = await harness.job(job_id)
    assert job.status == JobStatus.SUCCEEDED and job.message is not None and "No speech" in job.message
    assert fake.requests_for("chat") == []
    assert await stored_transcript(harness, book_id) == ("", "WEBVTT\n")
    assert (await harness.book_row(book_id)).transcript_status == TranscriptStatus.READY


async def test_deleting_the_book_mid_job_stops_quietly(harness: Harness, fake: FakeOpenAI, sources: list[Path]) -> None:
    first_request = threading.Event()

    def slow_and_signal(data: bytes, name: str) -> float:
        first_request.set()
        return 0.3

    fake.latency_for = slow_and_signal
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)
    run = asyncio.create_task(run_transcription(harness.resources(TRANSCRIPTION_CONCURRENCY=1), job_id))
    assert await asyncio.to_thread(first_request.wait, 30)

    async with session_scope(harness.sessions) as session:
        await session.delete(await session.get(Audiobook, book_id))

    await run  # no exception, no FAILED row to write
    async with harness.sessions() as session:
        assert await session.get(Audiobook, book_id) is None


async def test_gpt4o_models_count_tokens(harness: Harness, fake: FakeOpenAI, sources: list[Path]) -> None:
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)

    await run_transcription(harness.resources(OPENAI_TRANSCRIPTION_MODEL="gpt-4o-transcribe"), job_id)

    usage = (await harness.job(job_id)).usage["transcription"]["openai/gpt-4o-transcribe"]
    assert usage["requests"] == 5
    assert usage["input_tokens"] == pytest.approx(160, abs=2)  # the fake bills 10 audio tokens a second
    assert usage["output_tokens"] > 0
    assert all(r.response_format == "json" for r in transcriptions(fake))


# -- policy ------------------------------------------------------------------------------------


def test_backoff_grows_with_jitter_and_respects_retry_after(harness: Harness) -> None:
    settings = harness.resources(JOB_RETRY_MIN_BACKOFF_MS=1000, JOB_RETRY_MAX_BACKOFF_MS=60_000).settings
    for retries in range(4):
        delays = {retry_delay_ms(retries, None, settings) for _ in range(50)}
        assert min(delays) >= 1000 * 2**retries and max(delays) <= 2000 * 2**retries
        assert len(delays) > 1, "jittered"
    assert all(30_000 <= retry_delay_ms(10, None, settings) <= 60_000 for _ in range(20)), "capped"
    assert all(90_000 <= retry_delay_ms(0, 90, settings) <= 108_000 for _ in range(20)), "Retry-After wins"


def test_only_decided_retries_are_retried() -> None:
    assert should_retry(0, dramatiq.Retry("later", delay=5))
    assert not should_retry(0, ValueError("bug"))
    assert not should_retry(99, dramatiq.Retry("later", delay=5))


def test_lanes_keep_every_slot_busy() -> None:
    assert lane_length([36_000.0], 600, 8) == 4  # 60 chunks, 8 at a time: 15 lanes of 4
    assert lane_length([72_000.0], 600, 8) == 4  # 120 chunks: still lanes of 4 (30 of them)
    assert lane_length([3600.0] * 10, 600, 8) == 4  # 10 files of 6 chunks: two lanes per file (4 + 2)
    assert lane_length([100.0], 600, 4) == 1  # fewer chunks than slots: every chunk on its own
    assert lane_length([1200.0, 600.0], 600, 1) == 3  # one at a time: one lane per file, all prompted


async def test_stitch_places_files_on_one_timeline(harness: Harness, sources: list[Path]) -> None:
    book_id = await harness.book(sources)
    async with session_scope(harness.sessions) as session:
        files = await file_service.files_of_book(session, book_id)
        for f, text in ((files[1], "second"), (files[0], "first")):
            await transcripts.save_chunk(
                session, audio_file_id=f.id, chunk_index=0, start_seconds=0.0, end_seconds=2.0, text=text,
                segments=[], provider="test", model="m",
            )  # fmt: skip
        stitched = await transcripts.stitch(session, book_id)
        await session.rollback()
    assert [(s.start, s.end, s.text) for s in stitched.segments] == [(0.0, 2.0, "first"), (10.0, 12.0, "second")]
