"""Carts, orders, entitlements (who owns what) and the payment events already processed."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field
from audiocity.payments.base import PaymentProvider


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class Cart(SQLModel, table=True):
    """A signed-in user's cart (`user_id`) or a guest cart (`guest_token_hash`: the token is never stored)."""

    __tablename__ = "carts"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    )
    guest_token_hash: str | None = Field(default=None, unique=True)
    created_at: datetime = created_at_field()


class CartItem(SQLModel, table=True):
    """One book in a cart, with the price the shopper saw when adding it (to say so if it changed)."""

    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "audiobook_id", name="uq_cart_items"),)

    id: uuid.UUID = id_field()
    cart_id: uuid.UUID = Field(sa_column=Column(ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True))
    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False))
    added_at: datetime = created_at_field()
    added_price_cents: int | None = None
    added_currency: str | None = Field(default=None, max_length=3)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_orders_idempotency"),
        UniqueConstraint("provider", "provider_reference", name="uq_orders_provider_reference"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    status: OrderStatus = Field(
        default=OrderStatus.PENDING,
        sa_column=Column(Enum(OrderStatus, name="order_status"), nullable=False),
    )
    provider: PaymentProvider = Field(sa_column=Column(Enum(PaymentProvider, name="payment_provider"), nullable=False))
    idempotency_key: str = Field(max_length=200)
    # the provider's checkout (Stripe: Checkout Session id) and payment (Stripe: PaymentIntent id)
    provider_reference: str | None = None
    payment_reference: str | None = Field(default=None, index=True)
    refund_reference: str | None = None
    redirect_url: str | None = None
    total_cents: int
    currency: str = Field(max_length=3)
    created_at: datetime = created_at_field()
    paid_at: datetime | None = timestamp_field()
    updated_at: datetime | None = timestamp_field()
    expires_at: datetime | None = timestamp_field(index=True)
    refunded_at: datetime | None = timestamp_field()


class OrderLine(SQLModel, table=True):
    """A snapshot of the catalog at checkout: later price or title changes do not alter the order."""

    __tablename__ = "order_lines"

    id: uuid.UUID = id_field()
    order_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="RESTRICT"), nullable=False))
    title: str
    price_cents: int
    currency: str = Field(max_length=3)
    # what the cart showed when the book was added; differs from `price_cents` if the price changed since
    cart_price_cents: int | None = None
    cart_currency: str | None = Field(default=None, max_length=3)

    @property
    def price_changed(self) -> bool:
        if self.cart_price_cents is None:
            return False
        return (self.cart_price_cents, self.cart_currency) != (self.price_cents, self.currency)


class Entitlement(SQLModel, table=True):
    __tablename__ = "entitlements"
    __table_args__ = (UniqueConstraint("user_id", "audiobook_id", name="uq_entitlements"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    order_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("orders.id", ondelete="SET NULL")))
    granted_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()


class PaymentEventRecord(SQLModel, table=True):
    """A provider webhook event already applied: its id makes redelivery a no-op."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_order_id", "order_id"),)

    provider: PaymentProvider = Field(
        sa_column=Column(Enum(PaymentProvider, name="payment_provider"), primary_key=True)
    )
    event_id: str = Field(sa_column=Column(String(255), primary_key=True))
    event_type: str = Field(max_length=100)
    order_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("orders.id", ondelete="SET NULL")))
    processed_at: datetime = created_at_field()
