from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class DeleteAudioFile(BaseModel):
    delete_audio_file: "DeleteAudioFileDeleteAudioFile" = Field(alias="deleteAudioFile")


class DeleteAudioFileDeleteAudioFile(BaseModel):
    audiobook: Optional["DeleteAudioFileDeleteAudioFileAudiobook"]
    errors: list["DeleteAudioFileDeleteAudioFileErrors"]


class DeleteAudioFileDeleteAudioFileAudiobook(BaseModel):
    id: str
    duration_seconds: float = Field(alias="durationSeconds")
    files: list["DeleteAudioFileDeleteAudioFileAudiobookFiles"]


class DeleteAudioFileDeleteAudioFileAudiobookFiles(BaseModel):
    id: str
    position: int
    file_name: str = Field(alias="fileName")
    duration_seconds: float = Field(alias="durationSeconds")


class DeleteAudioFileDeleteAudioFileErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


DeleteAudioFile.model_rebuild()
DeleteAudioFileDeleteAudioFile.model_rebuild()
DeleteAudioFileDeleteAudioFileAudiobook.model_rebuild()
