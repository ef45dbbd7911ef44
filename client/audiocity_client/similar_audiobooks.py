from typing import Optional

from .base_model import BaseModel
from .fragments import AudiobookSummary


class SimilarAudiobooks(BaseModel):
    audiobook: Optional["SimilarAudiobooksAudiobook"]


class SimilarAudiobooksAudiobook(BaseModel):
    id: str
    similar: list["SimilarAudiobooksAudiobookSimilar"]


SimilarAudiobooksAudiobookSimilar = AudiobookSummary
SimilarAudiobooks.model_rebuild()
SimilarAudiobooksAudiobook.model_rebuild()
