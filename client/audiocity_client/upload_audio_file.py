from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobStatus, UserErrorCode


class UploadAudioFile(BaseModel):
    upload_audio_file: "UploadAudioFileUploadAudioFile" = Field(alias="uploadAudioFile")


class UploadAudioFileUploadAudioFile(BaseModel):
    audio_file: Optional["UploadAudioFileUploadAudioFileAudioFile"] = Field(
        alias="audioFile"
    )
    job: Optional["UploadAudioFileUploadAudioFileJob"]
    errors: list["UploadAudioFileUploadAudioFileErrors"]


class UploadAudioFileUploadAudioFileAudioFile(BaseModel):
    id: str
    position: int
    file_name: str = Field(alias="fileName")
    size_bytes: float = Field(alias="sizeBytes")
    duration_seconds: float = Field(alias="durationSeconds")


class UploadAudioFileUploadAudioFileJob(BaseModel):
    id: str
    status: JobStatus


class UploadAudioFileUploadAudioFileErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


UploadAudioFile.model_rebuild()
UploadAudioFileUploadAudioFile.model_rebuild()
