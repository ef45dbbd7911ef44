"""AI processing jobs; the row is the source of truth that subscriptions snapshot from."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Enum, ForeignKey, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobKind(enum.StrEnum):
    TRANSCRIBE = "TRANSCRIBE"


class JobStage(enum.StrEnum):
    """The values `Job.stage` takes (stored as plain text, so adding one needs no migration)."""

    QUEUED = "queued"
    PREPARING = "preparing"
    TRANSCRIBING = "transcribing"
    STITCHING = "stitching"
    SUMMARIZING = "summarizing"
    EMBEDDING = "embedding"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(SQLModel, table=True):
    __tablename__ = "jobs"

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: JobKind = Field(default=JobKind.TRANSCRIBE, sa_column=Column(Enum(JobKind, name="job_kind"), nullable=False))
    status: JobStatus = Field(
        default=JobStatus.QUEUED,
        sa_column=Column(Enum(JobStatus, name="job_status"), nullable=False, index=True),
    )
    progress: float = 0.0
    stage: str = "queued"
    message: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    sequence: int = 0
    chunks_total: int = 0
    chunks_done: int = 0
    usage: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    # Transient failures that were retried, oldest first (see services/jobs.add_retry): what failed,
    # when, how long the request then waited, and which try of that request it was.
    retries: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    created_at: datetime = created_at_field()
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
