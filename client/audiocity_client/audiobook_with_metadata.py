from typing import Optional

from .base_model import BaseModel
from .fragments import (  # noqa: F401
    AudiobookMetadata,
    AudiobookMetadataCover,
    AudiobookMetadataSeries,
)


class AudiobookWithMetadata(BaseModel):
    audiobook: Optional["AudiobookWithMetadataAudiobook"]


class AudiobookWithMetadataAudiobook(AudiobookMetadata):
    categories: list["AudiobookWithMetadataAudiobookCategories"]


class AudiobookWithMetadataAudiobookCategories(BaseModel):
    id: str
    name: str
    slug: str


AudiobookWithMetadata.model_rebuild()
AudiobookWithMetadataAudiobook.model_rebuild()
