"""Job rows: created by uploads, advanced by workers, snapshotted by subscriptions."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis.exceptions
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.db import after_commit
from audiocity.events import Publishes, audiobook_jobs_channel, job_channel
from audiocity.models import Audiobook, Job, JobStatus, TranscriptStatus, utcnow
from audiocity.services.errors import NotFound
from audiocity.services.pagination import Key, Page, id_key, keyset_page, time_key

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
MAX_RETRY_HISTORY = 100  # the newest retried failures kept per job


def job_payload(job: Job) -> dict[str, Any]:
    """The event published on every change: the whole row, so a subscriber needs no extra query."""
    return job.model_dump(mode="json")


def job_channels(job: Job) -> list[str]:
    """Where a job's changes are announced: its own channel and its audiobook's."""
    return [job_channel(job.id), audiobook_jobs_channel(job.audiobook_id)]


async def announce(events: Publishes, job: Job) -> None:
    """Publish the job's row; a lost event is logged, never raised (events are hints, the row is the truth)."""
    await _publish(events, job.id, job_channels(job), job_payload(job))


def announce_after_commit(session: AsyncSession, events: Publishes, job: Job) -> None:
    """Announce the job as it is now (read before the commit expires it), once the unit of work commits."""
    job_id, channels, payload = job.id, job_channels(job), job_payload(job)

    async def hook() -> None:
        await _publish(events, job_id, channels, payload)

    after_commit(session, hook)


async def _publish(events: Publishes, job_id: uuid.UUID, channels: list[str], payload: dict[str, Any]) -> None:
    try:
        await events.publish(channels, payload)
    except (redis.exceptions.RedisError, OSError):
        log.warning("could not publish an event for job %s", job_id, exc_info=True)


async def queue_transcription(session: AsyncSession, audiobook_id: uuid.UUID) -> tuple[Job, bool]:
    """Return the book's queued job, or a new one; the flag says whether the caller must enqueue it.

    A job processes every file of the book and skips chunks already done, so one queued job
    covers any number of uploads made before it starts.
    """
    book = await session.get(Audiobook, audiobook_id, with_for_update=True)
    if book is None:
        raise NotFound("Audiobook", "audiobookId")
    queued = (
        await session.execute(
            select(Job).where(col(Job.audiobook_id) == audiobook_id, col(Job.status) == JobStatus.QUEUED).limit(1)
        )
    ).scalar_one_or_none()
    if queued is not None:
        return queued, False
    job = Job(audiobook_id=audiobook_id, stage="queued", message="Waiting for a worker.")
    session.add(job)
    book.transcript_status = TranscriptStatus.PENDING
    await session.flush()
    return job, True


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound("Job", "jobId")
    return job


async def latest_job_for_book(session: AsyncSession, audiobook_id: uuid.UUID) -> Job | None:
    return (
        await session.execute(
            select(Job).where(col(Job.audiobook_id) == audiobook_id).order_by(col(Job.created_at).desc()).limit(1)
        )
    ).scalar_one_or_none()


async def advance(session: AsyncSession, job_id: uuid.UUID, **changes: Any) -> Job:
    """Apply `changes` and bump `sequence` atomically, so events can be ordered and de-duplicated."""
    if changes.get("status") == JobStatus.RUNNING and "started_at" not in changes:
        changes["started_at"] = func.coalesce(col(Job.started_at), utcnow())
    status = changes.get("status")
    if isinstance(status, JobStatus) and status.terminal:
        changes.setdefault("finished_at", utcnow())
    result = await session.execute(
        update(Job)
        .where(col(Job.id) == job_id)
        .values(sequence=col(Job.sequence) + 1, **changes)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    job = result.scalar_one()
    return job


async def add_retry(session: AsyncSession, job_id: uuid.UUID, entry: dict[str, Any], **changes: Any) -> Job:
    """Append one retried failure (what, error, at, waited_seconds, attempt) to the job's history and
    apply `changes`, bumping `sequence` so subscribers see it. The newest MAX_RETRY_HISTORY are kept."""
    retries = await session.scalar(select(col(Job.retries)).where(col(Job.id) == job_id).with_for_update())
    history = [*(retries or []), entry][-MAX_RETRY_HISTORY:]
    return await advance(session, job_id, retries=history, **changes)


async def add_usage(
    session: AsyncSession, job_id: uuid.UUID, kind: str, provider: str, model: str, **amounts: float
) -> None:
    """Add `amounts` (requests, audio_seconds, tokens...) to the job's usage for one provider and model.

    `usage` reads `{kind: {"provider/model": {name: total}}, "timings": {...}}`, e.g.
    `{"transcription": {"openai/whisper-1": {"requests": 12, "audio_seconds": 7190.2}}}`. The row is
    locked, so concurrent chunk results add up; call `advance` in the same transaction to publish it.
    """
    await _merge_usage(session, job_id, kind, f"{provider}/{model}", amounts)


async def add_timings(session: AsyncSession, job_id: uuid.UUID, **seconds: float) -> None:
    """Add wall-clock seconds per step (summed over attempts) to `usage["timings"]`."""
    await _merge_usage(session, job_id, "timings", None, seconds)


async def _merge_usage(
    session: AsyncSession, job_id: uuid.UUID, section: str, key: str | None, amounts: dict[str, float]
) -> None:
    usage = await session.scalar(select(col(Job.usage)).where(col(Job.id) == job_id).with_for_update())
    if usage is None:
        return
    merged = dict(usage)
    part = dict(merged.get(section) or {})
    entry = dict(part.get(key) or {}) if key is not None else part
    for name, amount in amounts.items():
        total = float(entry.get(name, 0)) + float(amount)
        entry[name] = int(total) if float(total).is_integer() else round(total, 3)
    if key is not None:
        part[key] = entry
    merged[section] = part
    await session.execute(update(Job).where(col(Job.id) == job_id).values(usage=merged))


async def list_jobs(
    session: AsyncSession, *, first: int | None, after: str | None, status: JobStatus | None
) -> Page[Job]:
    query = select(Job)
    count = select(func.count()).select_from(Job)
    if status is not None:
        query = query.where(col(Job.status) == status)
        count = count.where(col(Job.status) == status)
    keys: list[Key[Job]] = [time_key(col(Job.created_at), lambda j: j.created_at), id_key(col(Job.id), lambda j: j.id)]
    return await keyset_page(session, query, keys=keys, count=count, first=first, after=after)
