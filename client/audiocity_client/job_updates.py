from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStage, JobStatus


class JobUpdates(BaseModel):
    job_updates: "JobUpdatesJobUpdates" = Field(alias="jobUpdates")


class JobUpdatesJobUpdates(BaseModel):
    status: JobStatus
    progress: float
    stage: JobStage
    message: Optional[str]
    sequence: int
    job: "JobUpdatesJobUpdatesJob"


class JobUpdatesJobUpdatesJob(BaseModel):
    id: str
    error: Optional[str]
    attempts: int
    retries: list["JobUpdatesJobUpdatesJobRetries"]


class JobUpdatesJobUpdatesJobRetries(BaseModel):
    what: str
    error: str
    at: datetime
    waited_seconds: float = Field(alias="waitedSeconds")
    attempt: int
    rate_limited: bool = Field(alias="rateLimited")


JobUpdates.model_rebuild()
JobUpdatesJobUpdates.model_rebuild()
JobUpdatesJobUpdatesJob.model_rebuild()
