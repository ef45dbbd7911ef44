"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from audiocity.models.base import utcnow
from audiocity.models.catalog import (
    Audiobook,
    AudiobookCategory,
    AudioFile,
    Category,
    Transcript,
    TranscriptChunk,
    TranscriptStatus,
)
from audiocity.models.commerce import (
    Cart,
    CartItem,
    Entitlement,
    Order,
    OrderLine,
    OrderStatus,
    PaymentProvider,
)
from audiocity.models.job import Job, JobKind, JobStatus
from audiocity.models.user import RefreshToken, Role, User

__all__ = [
    "AudioFile",
    "Audiobook",
    "AudiobookCategory",
    "Cart",
    "CartItem",
    "Category",
    "Entitlement",
    "Job",
    "JobKind",
    "JobStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PaymentProvider",
    "RefreshToken",
    "Role",
    "Transcript",
    "TranscriptChunk",
    "TranscriptStatus",
    "User",
    "utcnow",
]
