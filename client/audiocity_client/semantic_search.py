from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import SearchField
from .fragments import AudiobookSummary


class SemanticSearch(BaseModel):
    audiobooks: "SemanticSearchAudiobooks"


class SemanticSearchAudiobooks(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "SemanticSearchAudiobooksPageInfo" = Field(alias="pageInfo")
    edges: list["SemanticSearchAudiobooksEdges"]


class SemanticSearchAudiobooksPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class SemanticSearchAudiobooksEdges(BaseModel):
    cursor: str
    node: "SemanticSearchAudiobooksEdgesNode"
    matches: list["SemanticSearchAudiobooksEdgesMatches"]


SemanticSearchAudiobooksEdgesNode = AudiobookSummary


class SemanticSearchAudiobooksEdgesMatches(BaseModel):
    field: SearchField
    snippet: str
    start_seconds: Optional[float] = Field(alias="startSeconds")


SemanticSearch.model_rebuild()
SemanticSearchAudiobooks.model_rebuild()
SemanticSearchAudiobooksEdges.model_rebuild()
