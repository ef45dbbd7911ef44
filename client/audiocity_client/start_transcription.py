from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStage, JobStatus, UserErrorCode


class StartTranscription(BaseModel):
    start_transcription: "StartTranscriptionStartTranscription" = Field(
        alias="startTranscription"
    )


class StartTranscriptionStartTranscription(BaseModel):
    job: Optional["StartTranscriptionStartTranscriptionJob"]
    errors: list["StartTranscriptionStartTranscriptionErrors"]


class StartTranscriptionStartTranscriptionJob(BaseModel):
    id: str
    status: JobStatus
    stage: JobStage


class StartTranscriptionStartTranscriptionErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


StartTranscription.model_rebuild()
StartTranscriptionStartTranscription.model_rebuild()
