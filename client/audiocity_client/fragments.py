from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import OrderStatus, PaymentProvider, TranscriptStatus


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


AudiobookSummary.model_rebuild()
OrderDetails.model_rebuild()
