from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import DownloadErrorCode, DownloadKind


class Library(BaseModel):
    library: "LibraryLibrary"


class LibraryLibrary(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "LibraryLibraryPageInfo" = Field(alias="pageInfo")
    edges: list["LibraryLibraryEdges"]


class LibraryLibraryPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class LibraryLibraryEdges(BaseModel):
    node: "LibraryLibraryEdgesNode"


class LibraryLibraryEdgesNode(BaseModel):
    audiobook: "LibraryLibraryEdgesNodeAudiobook"
    purchased_at: datetime = Field(alias="purchasedAt")
    downloads: list["LibraryLibraryEdgesNodeDownloads"]


class LibraryLibraryEdgesNodeAudiobook(BaseModel):
    id: str
    title: str


class LibraryLibraryEdgesNodeDownloads(BaseModel):
    kind: DownloadKind
    file_name: str = Field(alias="fileName")
    url: Optional[str]
    expires_at: Optional[datetime] = Field(alias="expiresAt")
    size_bytes: Optional[float] = Field(alias="sizeBytes")
    error: Optional["LibraryLibraryEdgesNodeDownloadsError"]


class LibraryLibraryEdgesNodeDownloadsError(BaseModel):
    code: DownloadErrorCode
    message: str


Library.model_rebuild()
LibraryLibrary.model_rebuild()
LibraryLibraryEdges.model_rebuild()
LibraryLibraryEdgesNode.model_rebuild()
LibraryLibraryEdgesNodeDownloads.model_rebuild()
