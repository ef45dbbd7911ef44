from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobKind, JobStage, JobStatus


class Job(BaseModel):
    job: Optional["JobJob"]


class JobJob(BaseModel):
    id: str
    kind: JobKind
    status: JobStatus
    stage: JobStage
    progress: float
    message: Optional[str]
    error: Optional[str]
    attempts: int
    chunks_total: int = Field(alias="chunksTotal")
    chunks_done: int = Field(alias="chunksDone")
    created_at: datetime = Field(alias="createdAt")
    started_at: Optional[datetime] = Field(alias="startedAt")
    finished_at: Optional[datetime] = Field(alias="finishedAt")
    audiobook: Optional["JobJobAudiobook"]
    resource_usage: "JobJobResourceUsage" = Field(alias="resourceUsage")


class JobJobAudiobook(BaseModel):
    id: str
    title: str


class JobJobResourceUsage(BaseModel):
    transcription: list["JobJobResourceUsageTranscription"]
    summary: list["JobJobResourceUsageSummary"]
    timings: list["JobJobResourceUsageTimings"]


class JobJobResourceUsageTranscription(BaseModel):
    provider: str
    model: str
    requests: int
    failed_requests: int = Field(alias="failedRequests")
    audio_seconds: float = Field(alias="audioSeconds")


class JobJobResourceUsageSummary(BaseModel):
    provider: str
    model: str
    requests: int
    prompt_tokens: int = Field(alias="promptTokens")
    completion_tokens: int = Field(alias="completionTokens")


class JobJobResourceUsageTimings(BaseModel):
    stage: str
    seconds: float


Job.model_rebuild()
JobJob.model_rebuild()
JobJobResourceUsage.model_rebuild()
