from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import (
    AudiobookSummary,
    AudiobookSummaryPrice,  # noqa: F401
)


class Audiobook(BaseModel):
    audiobook: Optional["AudiobookAudiobook"]


class AudiobookAudiobook(AudiobookSummary):
    description: str
    categories: list["AudiobookAudiobookCategories"]
    files: list["AudiobookAudiobookFiles"]


class AudiobookAudiobookCategories(BaseModel):
    id: str
    name: str
    slug: str


class AudiobookAudiobookFiles(BaseModel):
    id: str
    position: int
    file_name: str = Field(alias="fileName")
    content_type: str = Field(alias="contentType")
    size_bytes: float = Field(alias="sizeBytes")
    duration_seconds: float = Field(alias="durationSeconds")


Audiobook.model_rebuild()
AudiobookAudiobook.model_rebuild()
