from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from audiocity import models
from audiocity.graphql.context import Context
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.common import JobStatus


@strawberry.type(description="One failed try of an AI request that was tried again (a transient failure).")
class JobRetry:
    what: str = strawberry.field(description="The request: a file's chunk (name, number, times) or `the summary`.")
    error: str = strawberry.field(description="What went wrong, in the provider's words.")
    at: datetime = strawberry.field(description="When the try failed.")
    waited_seconds: float = strawberry.field(description="How long the request then waited before its next try.")
    attempt: int = strawberry.field(description="Which try of this request failed (1 = its first).")
    rate_limited: bool = strawberry.field(description="The provider said 429: fewer requests were sent at once.")

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> JobRetry:
        return cls(
            what=str(entry.get("what", "")),
            error=str(entry.get("error", "")),
            at=datetime.fromisoformat(str(entry["at"])),
            waited_seconds=float(entry.get("waited_seconds", 0.0)),
            attempt=int(entry.get("attempt", 0)),
            rate_limited=bool(entry.get("rate_limited", False)),
        )


@strawberry.type(description="An AI processing job: transcription, summary and tags for one audiobook.")
class Job(Node):
    db_id: strawberry.Private[uuid.UUID]
    audiobook_db_id: strawberry.Private[uuid.UUID]
    kind: str
    status: JobStatus  # type: ignore[valid-type]
    progress: float = strawberry.field(description="From 0 to 1.")
    stage: str
    message: str | None
    error: str | None
    attempts: int = strawberry.field(
        description="How many times a worker started this job: 1, plus one per redelivery after a worker crash "
        "or a lost database. Failed AI requests are retried inside a run and listed in `retries`."
    )
    retries: list[JobRetry] = strawberry.field(
        description="Transient failures that were retried, oldest first (the newest 100): what, when, how long."
    )
    sequence: int = strawberry.field(description="Increases with every change of this job.")
    chunks_total: int
    chunks_done: int
    usage: JSON = strawberry.field(
        description=(
            "What the job cost: `transcription` and `summary` map `provider/model` to requests, audio_seconds, "
            "failed_requests and tokens; `timings` has seconds per stage."
        )
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_model(cls, j: models.Job) -> Job:
        return cls(
            id=to_global_id("Job", j.id),
            db_id=j.id,
            audiobook_db_id=j.audiobook_id,
            kind=j.kind.value,
            status=j.status,
            progress=j.progress,
            stage=j.stage,
            message=j.message,
            error=j.error,
            attempts=j.attempts,
            retries=[JobRetry.from_entry(entry) for entry in j.retries],
            sequence=j.sequence,
            chunks_total=j.chunks_total,
            chunks_done=j.chunks_done,
            usage=cast(JSON, j.usage),
            created_at=j.created_at,
            started_at=j.started_at,
            finished_at=j.finished_at,
        )

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Job:
        return cls.from_model(models.Job.model_validate(payload))

    @strawberry.field
    async def audiobook(self, info: Info[Context, None]) -> Audiobook | None:
        loaders = await info.context.loaders()
        book = await loaders.audiobooks.load(self.audiobook_db_id)
        return Audiobook.from_model(book) if book else None


@strawberry.type(description="One step of a job, as seen live.")
class JobEvent:
    job: Job
    status: JobStatus  # type: ignore[valid-type]
    progress: float
    stage: str
    message: str | None
    sequence: int

    @classmethod
    def from_job(cls, job: Job) -> JobEvent:
        return cls(
            job=job,
            status=job.status,
            progress=job.progress,
            stage=job.stage,
            message=job.message,
            sequence=job.sequence,
        )
