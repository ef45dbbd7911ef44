"""guest carts, payments and webhook events

Revision ID: 0003_commerce
Revises: 0002_uploads
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_commerce"
down_revision: str | None = "0002_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cart_items", sa.Column("added_price_cents", sa.Integer(), nullable=True))
    op.add_column("cart_items", sa.Column("added_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))

    op.add_column("orders", sa.Column("payment_reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column("orders", sa.Column("refund_reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column("orders", sa.Column("redirect_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column("orders", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_orders_payment_reference"), "orders", ["payment_reference"], unique=False)
    op.create_index(op.f("ix_orders_expires_at"), "orders", ["expires_at"], unique=False)
    op.create_unique_constraint("uq_orders_provider_reference", "orders", ["provider", "provider_reference"])

    op.add_column("order_lines", sa.Column("cart_price_cents", sa.Integer(), nullable=True))
    op.add_column("order_lines", sa.Column("cart_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))

    op.create_table(
        "payment_events",
        sa.Column("provider", postgresql.ENUM("TEST", "STRIPE", name="payment_provider", create_type=False), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("provider", "event_id"),
    )
    op.create_index("ix_payment_events_order_id", "payment_events", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payment_events_order_id", table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_column("order_lines", "cart_currency")
    op.drop_column("order_lines", "cart_price_cents")
    op.drop_constraint("uq_orders_provider_reference", "orders", type_="unique")
    op.drop_index(op.f("ix_orders_expires_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_payment_reference"), table_name="orders")
    for column in ("refunded_at", "expires_at", "redirect_url", "refund_reference", "payment_reference"):
        op.drop_column("orders", column)
    op.drop_column("cart_items", "added_currency")
    op.drop_column("cart_items", "added_price_cents")
