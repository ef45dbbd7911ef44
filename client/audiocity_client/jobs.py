from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStage, JobStatus


class Jobs(BaseModel):
    jobs: "JobsJobs"


class JobsJobs(BaseModel):
    total_count: int = Field(alias="totalCount")
    edges: list["JobsJobsEdges"]


class JobsJobsEdges(BaseModel):
    node: "JobsJobsEdgesNode"


class JobsJobsEdgesNode(BaseModel):
    id: str
    status: JobStatus
    stage: JobStage
    progress: float
    error: Optional[str]
    attempts: int
    created_at: datetime = Field(alias="createdAt")
    started_at: Optional[datetime] = Field(alias="startedAt")
    finished_at: Optional[datetime] = Field(alias="finishedAt")
    retries: list["JobsJobsEdgesNodeRetries"]


class JobsJobsEdgesNodeRetries(BaseModel):
    what: str
    error: str
    at: datetime
    waited_seconds: float = Field(alias="waitedSeconds")
    attempt: int
    rate_limited: bool = Field(alias="rateLimited")


Jobs.model_rebuild()
JobsJobs.model_rebuild()
JobsJobsEdges.model_rebuild()
JobsJobsEdgesNode.model_rebuild()
