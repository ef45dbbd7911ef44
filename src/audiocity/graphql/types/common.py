"""Small shared types and enums."""

from __future__ import annotations

import enum
import re
from typing import NewType, TypeVar

import strawberry

from audiocity.models import JobKind as JobKindModel
from audiocity.models import JobStage as JobStageModel
from audiocity.models import JobStatus as JobStatusModel
from audiocity.models import OrderStatus as OrderStatusModel
from audiocity.models import PaymentProvider as PaymentProviderModel
from audiocity.models import Role as RoleModel
from audiocity.models import TranscriptStatus as TranscriptStatusModel
from audiocity.services.catalog import Sort
from audiocity.services.downloads import DownloadKind as DownloadKindModel

E = TypeVar("E", bound=enum.Enum)


def described(enum_cls: type[E], name: str, description: str, values: dict[str, str]) -> type[E]:
    """A GraphQL enum over a plain Python enum (models stay GraphQL-free), with a description per value.

    A value missing from `values` stays undescribed, and tests/api_schema/test_descriptions.py says so.
    """
    strawberry.enum(enum_cls, name=name, description=description)
    for value in enum_cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values.get(value.name)
    return enum_cls


Role = described(
    RoleModel,
    "Role",
    "What a user may do.",
    {"ADMIN": "Manages the catalog, uploads, jobs, orders and users.", "CUSTOMER": "Buys and listens."},
)
JobStatus = described(
    JobStatusModel,
    "JobStatus",
    "Where a job is in its life; SUCCEEDED, FAILED and CANCELLED are final.",
    {
        "QUEUED": "Waiting for a worker (also between retries).",
        "RUNNING": "A worker is on it.",
        "SUCCEEDED": "Done: transcript, summary and tags are stored.",
        "FAILED": "Gave up; `error` says why. `startTranscription` tries again.",
        "CANCELLED": "Stopped before the end, e.g. because a newer job replaced it.",
    },
)
JobKind = described(
    JobKindModel,
    "JobKind",
    "What a job does.",
    {"TRANSCRIBE": "Transcribe every audio file of a book, then write its summary and tags."},
)
JobStage = described(
    JobStageModel,
    "JobStage",
    "The step a job is on, finer than its status.",
    {
        "QUEUED": "Waiting for a worker.",
        "PREPARING": "Probing the audio and cutting it into chunks.",
        "TRANSCRIBING": "Transcribing chunks; `progress` grows with each.",
        "STITCHING": "Joining the chunk transcripts into one.",
        "SUMMARIZING": "Writing the summary and tags.",
        "EMBEDDING": "Computing the vectors meaning search uses (summary and transcript passages).",
        "RETRYING": "Waiting to try again after a failure that may pass.",
        "DONE": "Finished successfully.",
        "FAILED": "Stopped for good; see `error`.",
        "CANCELLED": "Stopped before the end.",
    },
)
TranscriptStatus = described(
    TranscriptStatusModel,
    "TranscriptStatus",
    "Whether an audiobook's transcript exists yet.",
    {
        "NONE": "No transcription was ever asked for (e.g. no audio yet).",
        "PENDING": "A transcription job is queued.",
        "RUNNING": "A transcription job is running.",
        "READY": "The transcript, summary and tags are stored.",
        "FAILED": "The last transcription failed.",
    },
)
OrderStatus = described(
    OrderStatusModel,
    "OrderStatus",
    "Where an order is in its life.",
    {
        "PENDING": "Waiting for payment; cancelled at `expiresAt` if unpaid.",
        "PAID": "Paid: the buyer owns the books.",
        "FAILED": "The payment failed.",
        "CANCELLED": "Abandoned or expired before payment.",
        "REFUNDED": "Paid, then refunded: the books were taken back.",
    },
)
PaymentProvider = described(
    PaymentProviderModel,
    "PaymentProvider",
    "Who takes the money.",
    {"TEST": "Built in, paid at once; for development and tests.", "STRIPE": "Stripe Checkout."},
)
AudiobookSort = described(
    Sort,
    "AudiobookSort",
    "Order of the catalog; a `search` ranks by relevance unless a sort is given.",
    {
        "NEWEST": "Most recently added first.",
        "OLDEST": "First added first.",
        "TITLE": "By title, A to Z.",
        "PRICE_LOW": "Cheapest first.",
        "PRICE_HIGH": "Most expensive first.",
        "RELEVANCE": "Best match of the `search` first (the default with a search); NEWEST without one.",
    },
)
DownloadKind = described(
    DownloadKindModel,
    "DownloadKind",
    "What a download link points at.",
    {
        "AUDIO": "One audio file, as uploaded.",
        "TRANSCRIPT_TEXT": "The transcript as plain text.",
        "TRANSCRIPT_VTT": "The transcript as WebVTT captions with timestamps.",
        "CHAPTERS_VTT": "The chapters as a WebVTT chapters track (one cue per chapter), once the book has chapters.",
        "BUNDLE": "One ZIP of the audio files and transcripts.",
    },
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _parse_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (three capital letters, e.g. EUR).")
    return value


CurrencyCode = NewType("CurrencyCode", str)
CURRENCY_CODE_SCALAR = strawberry.scalar(
    name="CurrencyCode",
    description="An ISO 4217 currency code: three capital letters such as `EUR` or `USD`.",
    specified_by_url="https://www.iso.org/iso-4217-currency-codes.html",
    serialize=str,
    parse_value=_parse_currency,
)


@strawberry.type(description="An amount of money in minor units (cents) of an ISO 4217 currency.")
class Money:
    amount_cents: int = strawberry.field(description="The amount in minor units, e.g. 1999 for 19.99.")
    currency: str = strawberry.field(graphql_type=CurrencyCode, description="The currency of the amount.")
