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


class StartUploadInput(BaseModel):
    """The file about to be uploaded; `md5` / `crc32c` (hex or base64) are checked at the end."""

    audiobook_id: str = Field(alias="audiobookId")
    file_name: str = Field(alias="fileName")
    content_type: str = Field(alias="contentType")
    size_bytes: float = Field(alias="sizeBytes")
    "Exact size in bytes (a Float: files can exceed 2^31)."
    md_5: Optional[str] = Field(alias="md5", default=None)
    crc_32_c: Optional[str] = Field(alias="crc32c", default=None)


class UpdateMeInput(BaseModel):
    display_name: Optional[str] = Field(alias="displayName", default=None)
