from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import AudiobookSummary


class AudiobookPage(BaseModel):
    audiobooks: "AudiobookPageAudiobooks"


class AudiobookPageAudiobooks(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "AudiobookPageAudiobooksPageInfo" = Field(alias="pageInfo")
    edges: list["AudiobookPageAudiobooksEdges"]


class AudiobookPageAudiobooksPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class AudiobookPageAudiobooksEdges(BaseModel):
    cursor: str
    node: "AudiobookPageAudiobooksEdgesNode"


AudiobookPageAudiobooksEdgesNode = AudiobookSummary
AudiobookPage.model_rebuild()
AudiobookPageAudiobooks.model_rebuild()
AudiobookPageAudiobooksEdges.model_rebuild()
