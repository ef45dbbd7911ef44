from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStatus, UserErrorCode


class CompleteUpload(BaseModel):
    complete_upload: "CompleteUploadCompleteUpload" = Field(alias="completeUpload")


class CompleteUploadCompleteUpload(BaseModel):
    audio_file: Optional["CompleteUploadCompleteUploadAudioFile"] = Field(
        alias="audioFile"
    )
    job: Optional["CompleteUploadCompleteUploadJob"]
    errors: list["CompleteUploadCompleteUploadErrors"]


class CompleteUploadCompleteUploadAudioFile(BaseModel):
    id: str
    position: int
    file_name: str = Field(alias="fileName")
    content_type: str = Field(alias="contentType")
    size_bytes: float = Field(alias="sizeBytes")
    duration_seconds: float = Field(alias="durationSeconds")
    codec: Optional[str]


class CompleteUploadCompleteUploadJob(BaseModel):
    id: str
    status: JobStatus


class CompleteUploadCompleteUploadErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


CompleteUpload.model_rebuild()
CompleteUploadCompleteUpload.model_rebuild()
