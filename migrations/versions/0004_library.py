"""listening progress and download audit

Revision ID: 0004_library
Revises: 0003_commerce
"""

from collections.abc import Sequence

revision: str = "0004_library"
down_revision: str | None = "0003_commerce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
