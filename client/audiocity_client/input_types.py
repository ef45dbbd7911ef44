from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import PaymentProvider


class AudiobookFilter(BaseModel):
    category: Optional[str] = None
    author: Optional[str] = None
    narrator: Optional[str] = None
    language: Optional[str] = None
    tag: Optional[str] = None


class AudiobookInput(BaseModel):
    """Unset fields are left unchanged by `updateAudiobook`."""

    title: Optional[str] = None
    subtitle: Optional[str] = None
    description: Optional[str] = None
    authors: Optional[list[str]] = None
    narrators: Optional[list[str]] = None
    categories: Optional[list[str]] = None
    language: Optional[str] = None
    price_cents: Optional[int] = Field(alias="priceCents", default=None)
    currency: Optional[str] = None
    cover_url: Optional[str] = Field(alias="coverUrl", default=None)


class CheckoutInput(BaseModel):
    provider: PaymentProvider = PaymentProvider.TEST
    idempotency_key: str = Field(alias="idempotencyKey")
    "Any unique string per purchase attempt; repeating it returns the same order."


class RegisterInput(BaseModel):
    email: str
    password: str
    display_name: Optional[str] = Field(alias="displayName", default=None)
