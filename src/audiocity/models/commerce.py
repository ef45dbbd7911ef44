"""Carts, orders and entitlements (who owns what)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class PaymentProvider(enum.StrEnum):
    TEST = "TEST"
    STRIPE = "STRIPE"


class Cart(SQLModel, table=True):
    """A signed-in user's cart (`user_id`) or a guest cart (`guest_token_hash`)."""

    __tablename__ = "carts"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    )
    guest_token_hash: str | None = Field(default=None, unique=True)
    created_at: datetime = created_at_field()


class CartItem(SQLModel, table=True):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "audiobook_id", name="uq_cart_items"),)

    id: uuid.UUID = id_field()
    cart_id: uuid.UUID = Field(sa_column=Column(ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True))
    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False))
    added_at: datetime = created_at_field()


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_orders_idempotency"),)

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
    provider_reference: str | None = None
    total_cents: int
    currency: str = Field(max_length=3)
    created_at: datetime = created_at_field()
    paid_at: datetime | None = timestamp_field()
    updated_at: datetime | None = timestamp_field()


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
