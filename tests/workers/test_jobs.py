"""services.jobs: queueing (one queued job per book), advancing with a sequence, and listing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import Audiobook, Job, JobStatus, TranscriptStatus
from audiocity.services import jobs
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from audiocity.services.pagination import encode_cursor
from tests.factories import make_book


async def test_queue_transcription_reuses_the_queued_job(session: AsyncSession) -> None:
    book = await make_book(session)

    job, is_new = await jobs.queue_transcription(session, book.id)
    again, again_new = await jobs.queue_transcription(session, book.id)

    assert is_new is True and again_new is False
    assert again.id == job.id
    assert (job.status, job.stage, job.sequence, job.audiobook_id) == (JobStatus.QUEUED, "queued", 0, book.id)
    await session.refresh(book)
    assert book.transcript_status is TranscriptStatus.PENDING
    assert (await jobs.latest_job_for_book(session, book.id)) == job


async def test_a_running_job_is_not_reused(session: AsyncSession) -> None:
    book = await make_book(session)
    job, _ = await jobs.queue_transcription(session, book.id)
    await jobs.advance(session, job.id, status=JobStatus.RUNNING)

    newer, is_new = await jobs.queue_transcription(session, book.id)

    assert is_new is True
    assert newer.id != job.id
    # and the new one is the one reused from now on
    assert (await jobs.queue_transcription(session, book.id))[0].id == newer.id


async def test_queue_transcription_for_an_unknown_book(session: AsyncSession) -> None:
    with pytest.raises(NotFound) as exc:
        await jobs.queue_transcription(session, uuid.uuid4())
    assert exc.value.field == "audiobookId"


async def test_advance_bumps_sequence_and_stamps_times(session: AsyncSession) -> None:
    book = await make_book(session)
    job, _ = await jobs.queue_transcription(session, book.id)
    assert job.started_at is None and job.finished_at is None

    running = await jobs.advance(session, job.id, status=JobStatus.RUNNING, stage="transcribing", attempts=1)
    assert (running.sequence, running.status, running.stage, running.attempts) == (
        1,
        JobStatus.RUNNING,
        "transcribing",
        1,
    )
    started = running.started_at
    assert started is not None and running.finished_at is None

    progressed = await jobs.advance(session, job.id, progress=0.5, chunks_done=2, chunks_total=4)
    assert (progressed.sequence, progressed.progress, progressed.chunks_done) == (2, 0.5, 2)

    # a retry sets RUNNING again: started_at keeps the first start
    retried = await jobs.advance(session, job.id, status=JobStatus.RUNNING, attempts=2)
    assert retried.sequence == 3 and retried.started_at == started

    done = await jobs.advance(session, job.id, status=JobStatus.SUCCEEDED, progress=1.0, stage="done")
    assert done.sequence == 4
    assert done.finished_at is not None and done.finished_at >= started
    assert done.status is JobStatus.SUCCEEDED

    # the identity map holds the fresh row too, and the payload carries the sequence
    fetched = await jobs.get_job(session, job.id)
    assert fetched.sequence == 4 and fetched.progress == 1.0
    payload = jobs.job_payload(fetched)
    assert payload["sequence"] == 4 and payload["status"] == "SUCCEEDED" and payload["id"] == str(job.id)


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
async def test_every_terminal_status_stamps_finished_at(session: AsyncSession, status: JobStatus) -> None:
    book = await make_book(session)
    job, _ = await jobs.queue_transcription(session, book.id)
    finished = await jobs.advance(session, job.id, status=status, error="boom")
    assert finished.finished_at is not None
    assert finished.started_at is None, "a job cancelled before it ran never started"


async def test_advance_an_unknown_job(session: AsyncSession) -> None:
    with pytest.raises(NoResultFound):
        await jobs.advance(session, uuid.uuid4(), progress=0.5)
    with pytest.raises(NotFound):
        await jobs.get_job(session, uuid.uuid4())


async def make_jobs(session: AsyncSession, book: Audiobook, statuses: list[JobStatus]) -> list[Job]:
    made = []
    for status in statuses:
        job = Job(audiobook_id=book.id, status=status)
        session.add(job)
        await session.flush()
        made.append(job)
    return made


async def all_job_pages(session: AsyncSession, first: int, status: JobStatus | None) -> tuple[list[Job], list[int]]:
    """Every job the listing returns, following cursors, and the total count of each page."""
    seen: list[Job] = []
    totals: list[int] = []
    after: str | None = None
    while True:
        page = await jobs.list_jobs(session, first=first, after=after, status=status)
        seen += page.items
        totals.append(page.total_count)
        assert len(page.items) <= first
        if not page.has_next_page:
            return seen, totals
        after = page.cursors[-1]


async def test_list_jobs_pages_without_duplicates_or_gaps(session: AsyncSession) -> None:
    book = await make_book(session)
    mine = await make_jobs(session, book, [JobStatus.SUCCEEDED] * 7)

    seen, totals = await all_job_pages(session, 3, None)

    ids = [j.id for j in seen]
    assert len(ids) == len(set(ids)), "a job appeared twice"
    assert set(totals) == {len(ids)}, "the pages together hold exactly totalCount jobs"
    assert {j.id for j in mine} <= set(ids)
    keys = [(j.created_at, j.id) for j in seen]
    assert keys == sorted(keys, reverse=True), "newest first"
    # our jobs were made last, so they open the first page in reverse creation order
    assert ids[:7] == [j.id for j in reversed(mine)]


async def test_list_jobs_filters_by_status(session: AsyncSession) -> None:
    book = await make_book(session)
    failed = await make_jobs(session, book, [JobStatus.FAILED] * 3)
    succeeded = await make_jobs(session, book, [JobStatus.SUCCEEDED] * 2)

    seen, totals = await all_job_pages(session, 2, JobStatus.FAILED)

    assert all(j.status is JobStatus.FAILED for j in seen)
    assert {j.id for j in failed} <= {j.id for j in seen}
    assert not {j.id for j in succeeded} & {j.id for j in seen}
    assert set(totals) == {len(seen)}


async def test_list_jobs_page_size_limits(session: AsyncSession) -> None:
    with pytest.raises(ServiceError) as exc:
        await jobs.list_jobs(session, first=101, after=None, status=None)
    assert exc.value.code is ErrorCode.INVALID


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        encode_cursor([1]),
        encode_cursor(["not-a-date", str(uuid.uuid4())]),
        encode_cursor(["2024-01-01T00:00:00+00:00", "not-a-uuid"]),
        encode_cursor([1, 2]),
        encode_cursor(["2024-01-01T00:00:00+00:00", 7]),
    ],
)
async def test_list_jobs_malformed_cursor_is_invalid(session: AsyncSession, cursor: str) -> None:
    with pytest.raises(ServiceError) as exc:
        await jobs.list_jobs(session, first=5, after=cursor, status=None)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "after"
