from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class AudiobookChapters(BaseModel):
    audiobook: Optional["AudiobookChaptersAudiobook"]


class AudiobookChaptersAudiobook(BaseModel):
    id: str
    duration_seconds: float = Field(alias="durationSeconds")
    chapters: list["AudiobookChaptersAudiobookChapters"]
    preview: Optional["AudiobookChaptersAudiobookPreview"]


class AudiobookChaptersAudiobookChapters(BaseModel):
    position: int
    title: str
    start_seconds: float = Field(alias="startSeconds")
    end_seconds: float = Field(alias="endSeconds")
    edited: bool


class AudiobookChaptersAudiobookPreview(BaseModel):
    url: str
    start_seconds: float = Field(alias="startSeconds")
    duration_seconds: float = Field(alias="durationSeconds")
    content_type: str = Field(alias="contentType")


AudiobookChapters.model_rebuild()
AudiobookChaptersAudiobook.model_rebuild()
