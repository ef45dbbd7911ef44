"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from audiocity.models.base import utcnow
from audiocity.models.catalog import (
    Audiobook,
    AudiobookCategory,
    AudioFile,
    CatalogVersion,
    Category,
    Transcript,
    TranscriptChunk,
    TranscriptPassage,
    TranscriptStatus,
)
from audiocity.models.chapters import AudiobookPreview as AudiobookPreview
from audiocity.models.chapters import Chapter as Chapter
from audiocity.models.chapters import ChapterSource as ChapterSource
from audiocity.models.commerce import (
    Cart,
    CartItem,
    Entitlement,
    Order,
    OrderLine,
    OrderStatus,
)
from audiocity.models.embedding import Embedding, EmbeddingKind
from audiocity.models.job import Job, JobKind, JobStage, JobStatus
from audiocity.models.library import DownloadEvent as DownloadEvent
from audiocity.models.library import DownloadKind as DownloadKind
from audiocity.models.library import ListeningProgress as ListeningProgress
from audiocity.models.metadata import AudiobookContributor, Contributor, ContributorRole, Series
from audiocity.models.outbox import OutboxMessage as OutboxMessage
from audiocity.models.upload import UploadSession as UploadSession
from audiocity.models.upload import UploadStatus as UploadStatus
from audiocity.models.user import PasswordResetToken, RefreshToken, Role, SignInCode, User
from audiocity.payments.base import PaymentProvider

__all__ = [
    "AudioFile",
    "Audiobook",
    "AudiobookCategory",
    "AudiobookContributor",
    "Cart",
    "CartItem",
    "CatalogVersion",
    "Category",
    "Contributor",
    "ContributorRole",
    "Embedding",
    "EmbeddingKind",
    "Entitlement",
    "Job",
    "JobKind",
    "JobStage",
    "JobStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PasswordResetToken",
    "PaymentProvider",
    "RefreshToken",
    "Role",
    "Series",
    "SignInCode",
    "Transcript",
    "TranscriptChunk",
    "TranscriptPassage",
    "TranscriptStatus",
    "User",
    "utcnow",
]
