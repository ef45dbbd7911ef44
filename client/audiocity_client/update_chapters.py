from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class UpdateChapters(BaseModel):
    update_chapters: "UpdateChaptersUpdateChapters" = Field(alias="updateChapters")


class UpdateChaptersUpdateChapters(BaseModel):
    audiobook: Optional["UpdateChaptersUpdateChaptersAudiobook"]
    errors: list["UpdateChaptersUpdateChaptersErrors"]


class UpdateChaptersUpdateChaptersAudiobook(BaseModel):
    id: str
    chapters: list["UpdateChaptersUpdateChaptersAudiobookChapters"]


class UpdateChaptersUpdateChaptersAudiobookChapters(BaseModel):
    position: int
    title: str
    start_seconds: float = Field(alias="startSeconds")
    end_seconds: float = Field(alias="endSeconds")
    edited: bool


class UpdateChaptersUpdateChaptersErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


UpdateChapters.model_rebuild()
UpdateChaptersUpdateChapters.model_rebuild()
UpdateChaptersUpdateChaptersAudiobook.model_rebuild()
