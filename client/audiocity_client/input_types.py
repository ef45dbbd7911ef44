from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import PaymentProvider


class AudiobookFilter(BaseModel):
    """Narrow the catalog; every field set must match."""

    category: Optional[str] = None
    "A category slug."
    author: Optional[str] = None
    "An author's full name (case does not matter): all books by them."
    narrator: Optional[str] = None
    "A narrator's full name (case does not matter)."
    series: Optional[str] = None
    "A series' name (case does not matter): the books in it."
    language: Optional[str] = None
    "A language tag, e.g. `en`."
    tag: Optional[str] = None
    "One of the AI-written tags."


class AudiobookInput(BaseModel):
    """Unset fields are left unchanged by `updateAudiobook`."""

    title: Optional[str] = None
    "The title; required on create."
    subtitle: Optional[str] = None
    "The subtitle."
    description: Optional[str] = None
    "The publisher's description."
    authors: Optional[list[str]] = None
    "Authors, in credit order."
    narrators: Optional[list[str]] = None
    "Narrators, in credit order."
    categories: Optional[list[str]] = None
    "Category names; missing ones are created."
    language: Optional[str] = None
    "BCP 47 language tag, e.g. `en`."
    price_cents: Optional[int] = Field(alias="priceCents", default=None)
    "Price in minor units."
    currency: Optional[Any] = None
    "Currency of the price."
    cover_url: Optional[str] = Field(alias="coverUrl", default=None)
    "An external cover image URL; an uploaded cover (`uploadCover`) wins."
    series: Optional[str] = None
    "The series' name (created if new); an empty string removes it."
    series_position: Optional[float] = Field(alias="seriesPosition", default=None)
    "Its place in the series, e.g. 1 or 2.5."
    published_year: Optional[int] = Field(alias="publishedYear", default=None)
    "The year the book was first published."
    publisher: Optional[str] = None
    "The publisher; an empty string clears it."
    isbn: Optional[str] = None
    "ISBN-10 or ISBN-13, hyphens allowed; checked and stored as ISBN-13. An empty string clears it."


class ChapterInput(BaseModel):
    """One chapter of the list `updateChapters` sets."""

    title: str
    "The chapter's title, 1 to 300 characters."
    start_seconds: float = Field(alias="startSeconds")
    "Where it starts, in seconds from the start of the book; the first chapter starts at 0 and each one after the one before, inside the audio."


class CheckoutInput(BaseModel):
    """How to pay for the cart."""

    provider: PaymentProvider = PaymentProvider.TEST
    "Who takes the money."
    idempotency_key: str = Field(alias="idempotencyKey")
    "Any unique string per purchase attempt; repeating it returns the same order."


class CreateCategoryInput(BaseModel):
    """A new category."""

    name: str
    "Display name, unique regardless of case."
    slug: Optional[str] = None
    "URL-safe name; made from the name when not given. Unique."


class RegisterInput(BaseModel):
    """A new customer account."""

    email: str
    "Sign-in email."
    password: str
    "At least 8 characters."
    display_name: Optional[str] = Field(alias="displayName", default=None)
    "Shown to others; defaults from the email."


class StartUploadInput(BaseModel):
    """The file about to be uploaded; `md5` / `crc32c` (hex or base64) are checked at the end."""

    audiobook_id: str = Field(alias="audiobookId")
    "The audiobook the file is appended to."
    file_name: str = Field(alias="fileName")
    "The file's name, kept for downloads."
    content_type: str = Field(alias="contentType")
    "MIME type, e.g. `audio/mpeg`."
    size_bytes: float = Field(alias="sizeBytes")
    "Exact size in bytes (a Float: files can exceed 2^31)."
    md_5: Optional[str] = Field(alias="md5", default=None)
    "MD5 of the whole file, hex or base64."
    crc_32_c: Optional[str] = Field(alias="crc32c", default=None)
    "CRC32C of the whole file, hex or base64."


class UpdateMeInput(BaseModel):
    """Changes to the viewer's own account; omitted fields stay as they are."""

    display_name: Optional[str] = Field(alias="displayName", default=None)
    "The new display name."
