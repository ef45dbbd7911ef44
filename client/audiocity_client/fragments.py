from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import TranscriptStatus


class AudiobookSummary(BaseModel):
    id: str
    title: str
    subtitle: Optional[str]
    authors: list[str]
    narrators: list[str]
    tags: list[str]
    summary: Optional[str]
    language: str
    price: "AudiobookSummaryPrice"
    cover_url: Optional[str] = Field(alias="coverUrl")
    duration_seconds: float = Field(alias="durationSeconds")
    published: bool
    transcript_status: TranscriptStatus = Field(alias="transcriptStatus")
    owned: bool
    created_at: datetime = Field(alias="createdAt")


class AudiobookSummaryPrice(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


AudiobookSummary.model_rebuild()
