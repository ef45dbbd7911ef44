from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class ReorderAudioFiles(BaseModel):
    reorder_audio_files: "ReorderAudioFilesReorderAudioFiles" = Field(
        alias="reorderAudioFiles"
    )


class ReorderAudioFilesReorderAudioFiles(BaseModel):
    audiobook: Optional["ReorderAudioFilesReorderAudioFilesAudiobook"]
    errors: list["ReorderAudioFilesReorderAudioFilesErrors"]


class ReorderAudioFilesReorderAudioFilesAudiobook(BaseModel):
    id: str
    duration_seconds: float = Field(alias="durationSeconds")
    files: list["ReorderAudioFilesReorderAudioFilesAudiobookFiles"]


class ReorderAudioFilesReorderAudioFilesAudiobookFiles(BaseModel):
    id: str
    position: int
    file_name: str = Field(alias="fileName")
    duration_seconds: float = Field(alias="durationSeconds")


class ReorderAudioFilesReorderAudioFilesErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


ReorderAudioFiles.model_rebuild()
ReorderAudioFilesReorderAudioFiles.model_rebuild()
ReorderAudioFilesReorderAudioFilesAudiobook.model_rebuild()
