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
from audiocity.graphql.types.common import JobKind, JobStage, JobStatus


@strawberry.type(description="Requests and amounts sent to one provider and model for a job.")
class ModelUsage:
    provider: str = strawberry.field(description="Who served the requests, e.g. `openai` or `local`.")
    model: str = strawberry.field(description="The model, e.g. `whisper-1`.")
    requests: int = strawberry.field(description="Requests that succeeded.")
    failed_requests: int = strawberry.field(description="Requests that failed (each retried on its own).")
    audio_seconds: float = strawberry.field(description="Seconds of audio transcribed.")
    input_tokens: int = strawberry.field(description="Input tokens billed (transcription models that count them).")
    output_tokens: int = strawberry.field(description="Output tokens billed (transcription models that count them).")
    prompt_tokens: int = strawberry.field(description="Prompt tokens of chat requests (summary and tags).")
    completion_tokens: int = strawberry.field(description="Completion tokens of chat requests (summary and tags).")

    @classmethod
    def build(cls, key: str, amounts: dict[str, Any]) -> ModelUsage:
        provider, _, model = key.partition("/")

        def n(name: str) -> float:
            return float(amounts.get(name) or 0)

        return cls(
            provider=provider,
            model=model,
            requests=int(n("requests")),
            failed_requests=int(n("failed_requests")),
            audio_seconds=n("audio_seconds"),
            input_tokens=int(n("input_tokens")),
            output_tokens=int(n("output_tokens")),
            prompt_tokens=int(n("prompt_tokens")),
            completion_tokens=int(n("completion_tokens")),
        )


@strawberry.type(description="Wall-clock time one step of a job took, summed over attempts.")
class StageTiming:
    stage: str = strawberry.field(
        description="The step, e.g. `transcribe`, `stitch`, `summarize`, or `run` for the whole job."
    )
    seconds: float = strawberry.field(description="Seconds spent in it.")


@strawberry.type(description="What a job cost, per provider and model, and how long its steps took.")
class JobUsage:
    transcription: list[ModelUsage] = strawberry.field(description="Speech-to-text requests.")
    summary: list[ModelUsage] = strawberry.field(description="Requests that wrote the summary and tags.")
    timings: list[StageTiming] = strawberry.field(description="Seconds per step.")

    @classmethod
    def build(cls, usage: dict[str, Any]) -> JobUsage:
        def models_of(section: str) -> list[ModelUsage]:
            part = usage.get(section) or {}
            return [ModelUsage.build(k, v) for k, v in sorted(part.items()) if isinstance(v, dict)]

        timings = usage.get("timings") or {}
        return cls(
            transcription=models_of("transcription"),
            summary=models_of("summary"),
            timings=[
                StageTiming(stage=k.removesuffix("_seconds"), seconds=float(v)) for k, v in sorted(timings.items())
            ],
        )


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
    kind: JobKind = strawberry.field(description="What the job does.")  # type: ignore[valid-type]
    status: JobStatus = strawberry.field(description="Where the job is in its life.")  # type: ignore[valid-type]
    progress: float = strawberry.field(description="From 0 to 1.")
    stage: JobStage = strawberry.field(description="The step the job is on.")  # type: ignore[valid-type]
    message: str | None = strawberry.field(description="A human-readable line about the current step.")
    error: str | None = strawberry.field(description="Why the job failed; null unless it did.")
    attempts: int = strawberry.field(
        description="How many times a worker started this job: 1, plus one per redelivery after a worker crash "
        "or a lost database. Failed AI requests are retried inside a run and listed in `retries`."
    )
    retries: list[JobRetry] = strawberry.field(
        description="Transient failures that were retried, oldest first (the newest 100): what, when, how long."
    )
    sequence: int = strawberry.field(description="Increases with every change of this job.")
    chunks_total: int = strawberry.field(description="Audio chunks to transcribe, over all files.")
    chunks_done: int = strawberry.field(description="Audio chunks transcribed so far.")
    usage: JSON = strawberry.field(
        description=(
            "What the job cost: `transcription` and `summary` map `provider/model` to requests, audio_seconds, "
            "failed_requests and tokens; `timings` has seconds per stage."
        ),
        deprecation_reason="Untyped; use `resourceUsage`.",
    )
    resource_usage: JobUsage = strawberry.field(
        description="What the job cost, per provider and model, and how long its steps took."
    )
    created_at: datetime = strawberry.field(description="When the job was queued.")
    started_at: datetime | None = strawberry.field(description="When a worker first started it.")
    finished_at: datetime | None = strawberry.field(description="When it reached a final status.")

    @classmethod
    def from_model(cls, j: models.Job) -> Job:
        return cls(
            id=to_global_id("Job", j.id),
            db_id=j.id,
            audiobook_db_id=j.audiobook_id,
            kind=j.kind,
            status=j.status,
            progress=j.progress,
            stage=models.JobStage(j.stage),
            message=j.message,
            error=j.error,
            attempts=j.attempts,
            retries=[JobRetry.from_entry(entry) for entry in j.retries],
            sequence=j.sequence,
            chunks_total=j.chunks_total,
            chunks_done=j.chunks_done,
            usage=cast(JSON, j.usage),
            resource_usage=JobUsage.build(j.usage),
            created_at=j.created_at,
            started_at=j.started_at,
            finished_at=j.finished_at,
        )

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Job:
        return cls.from_model(models.Job.model_validate(payload))

    @strawberry.field(description="The audiobook the job works on; null once it is deleted.")
    async def audiobook(self, info: Info[Context, None]) -> Audiobook | None:
        loaders = await info.context.loaders()
        book = await loaders.audiobooks.load(self.audiobook_db_id)
        return Audiobook.from_model(book) if book else None


@strawberry.type(description="One step of a job, as seen live.")
class JobEvent:
    job: Job = strawberry.field(description="The job after this step.")
    status: JobStatus = strawberry.field(description="The job's status after this step.")  # type: ignore[valid-type]
    progress: float = strawberry.field(description="From 0 to 1.")
    stage: JobStage = strawberry.field(description="The step the job is on.")  # type: ignore[valid-type]
    message: str | None = strawberry.field(description="A human-readable line about the step.")
    sequence: int = strawberry.field(description="The job's `sequence`: events arrive in increasing order.")

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
