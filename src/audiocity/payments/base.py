"""What checkout, refunds and webhooks need from a payment provider, whoever it is."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class PaymentProvider(enum.StrEnum):
    """Who takes the money; stored on orders (models import it from here)."""

    TEST = "TEST"
    STRIPE = "STRIPE"


class PaymentError(Exception):
    """The provider refused the request or could not be reached; nothing was charged or refunded."""


class InvalidWebhook(Exception):
    """A webhook that is not provably from the provider (bad signature, stale timestamp, malformed)."""


@dataclass(frozen=True)
class LineItem:
    title: str
    amount_cents: int


@dataclass(frozen=True)
class PaymentRequest:
    order_id: uuid.UUID
    user_id: uuid.UUID
    customer_email: str | None
    currency: str
    total_cents: int
    lines: list[LineItem]
    expires_at: datetime


@dataclass(frozen=True)
class PaymentSession:
    """How the buyer pays: `paid` means settled already (TEST); otherwise follow `redirect_url`."""

    provider_reference: str
    redirect_url: str | None = None
    client_secret: str | None = None
    paid: bool = False
    payment_reference: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    order_id: uuid.UUID
    payment_reference: str | None
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class RefundResult:
    reference: str


class EventKind(enum.StrEnum):
    PAID = "PAID"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"  # refunded in full
    REFUND = "REFUND"  # a refund of `amount_cents` went through: in full if that is the order's total
    IGNORED = "IGNORED"


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider event, reduced to what the order needs."""

    provider: PaymentProvider
    event_id: str
    event_type: str
    kind: EventKind
    order_id: uuid.UUID | None = None
    provider_reference: str | None = None
    payment_reference: str | None = None
    amount_cents: int | None = None
    currency: str | None = None


class PaymentGateway(Protocol):
    provider: PaymentProvider

    async def create_payment(self, request: PaymentRequest) -> PaymentSession:
        """Start paying for an order; idempotent per order id."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund an order in full; idempotent per order id."""
        ...
