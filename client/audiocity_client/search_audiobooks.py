from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import SearchField
from .fragments import AudiobookSummary


class SearchAudiobooks(BaseModel):
    audiobooks: "SearchAudiobooksAudiobooks"


class SearchAudiobooksAudiobooks(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "SearchAudiobooksAudiobooksPageInfo" = Field(alias="pageInfo")
    edges: list["SearchAudiobooksAudiobooksEdges"]


class SearchAudiobooksAudiobooksPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class SearchAudiobooksAudiobooksEdges(BaseModel):
    cursor: str
    node: "SearchAudiobooksAudiobooksEdgesNode"
    matches: list["SearchAudiobooksAudiobooksEdgesMatches"]


SearchAudiobooksAudiobooksEdgesNode = AudiobookSummary


class SearchAudiobooksAudiobooksEdgesMatches(BaseModel):
    field: SearchField
    snippet: str
    start_seconds: Optional[float] = Field(alias="startSeconds")


SearchAudiobooks.model_rebuild()
SearchAudiobooksAudiobooks.model_rebuild()
SearchAudiobooksAudiobooksEdges.model_rebuild()
