"""resumable upload sessions

Revision ID: 0002_uploads
Revises: 9596939bcfb0
"""

from collections.abc import Sequence

revision: str = "0002_uploads"
down_revision: str | None = "9596939bcfb0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
