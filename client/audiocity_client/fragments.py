from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import OrderStatus, PaymentProvider, TranscriptStatus


class AudiobookMetadata(BaseModel):
    id: str
    title: str
    authors: list[str]
    narrators: list[str]
    series: Optional["AudiobookMetadataSeries"]
    series_position: Optional[float] = Field(alias="seriesPosition")
    published_year: Optional[int] = Field(alias="publishedYear")
    publisher: Optional[str]
    isbn: Optional[str]
    cover_url: Optional[str] = Field(alias="coverUrl")
    cover: Optional["AudiobookMetadataCover"]


class AudiobookMetadataSeries(BaseModel):
    id: str
    name: str


class AudiobookMetadataCover(BaseModel):
    url: str
    width: int
    height: int
    thumbnails: list["AudiobookMetadataCoverThumbnails"]


class AudiobookMetadataCoverThumbnails(BaseModel):
    url: str
    width: int
    height: int


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


class OrderDetails(BaseModel):
    id: str
    status: OrderStatus
    provider: PaymentProvider
    total: "OrderDetailsTotal"
    lines: list["OrderDetailsLines"]
    created_at: datetime = Field(alias="createdAt")
    paid_at: Optional[datetime] = Field(alias="paidAt")
    refunded_at: Optional[datetime] = Field(alias="refundedAt")


class OrderDetailsTotal(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class OrderDetailsLines(BaseModel):
    title: str
    price: "OrderDetailsLinesPrice"
    audiobook: Optional["OrderDetailsLinesAudiobook"]


class OrderDetailsLinesPrice(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class OrderDetailsLinesAudiobook(BaseModel):
    id: str


AudiobookMetadata.model_rebuild()
AudiobookSummary.model_rebuild()
OrderDetails.model_rebuild()
