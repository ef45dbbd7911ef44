"""guest carts, payments and webhook events

Revision ID: 0003_commerce
Revises: 0002_uploads
"""

from collections.abc import Sequence

revision: str = "0003_commerce"
down_revision: str | None = "0002_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
