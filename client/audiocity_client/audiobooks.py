from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import AudiobookSummary


class Audiobooks(BaseModel):
    audiobooks: "AudiobooksAudiobooks"


class AudiobooksAudiobooks(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "AudiobooksAudiobooksPageInfo" = Field(alias="pageInfo")
    edges: list["AudiobooksAudiobooksEdges"]


class AudiobooksAudiobooksPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class AudiobooksAudiobooksEdges(BaseModel):
    cursor: str
    node: "AudiobooksAudiobooksEdgesNode"


AudiobooksAudiobooksEdgesNode = AudiobookSummary
Audiobooks.model_rebuild()
AudiobooksAudiobooks.model_rebuild()
AudiobooksAudiobooksEdges.model_rebuild()
