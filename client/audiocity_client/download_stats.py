from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import DownloadKind


class DownloadStats(BaseModel):
    download_stats: "DownloadStatsDownloadStats" = Field(alias="downloadStats")


class DownloadStatsDownloadStats(BaseModel):
    audiobook: "DownloadStatsDownloadStatsAudiobook"
    request_count: int = Field(alias="requestCount")
    download_count: int = Field(alias="downloadCount")
    unique_users: int = Field(alias="uniqueUsers")
    last_downloaded_at: Optional[datetime] = Field(alias="lastDownloadedAt")
    by_kind: list["DownloadStatsDownloadStatsByKind"] = Field(alias="byKind")


class DownloadStatsDownloadStatsAudiobook(BaseModel):
    id: str


class DownloadStatsDownloadStatsByKind(BaseModel):
    kind: DownloadKind
    download_count: int = Field(alias="downloadCount")


DownloadStats.model_rebuild()
DownloadStatsDownloadStats.model_rebuild()
