"""resumable upload sessions

Revision ID: 0002_uploads
Revises: 9596939bcfb0
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_uploads"
down_revision: str | None = "9596939bcfb0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("PENDING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED")


def upgrade() -> None:
    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audiobook_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("storage_key", sa.String(length=1024), nullable=False),
        sa.Column("upload_url", sa.Text(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("md5_hex", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("crc32c", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Enum(*STATUSES, name="upload_status"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("audio_file_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["audio_file_id"], ["audio_files.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key"),
    )
    op.create_index(op.f("ix_upload_sessions_audiobook_id"), "upload_sessions", ["audiobook_id"], unique=False)
    op.create_index(op.f("ix_upload_sessions_user_id"), "upload_sessions", ["user_id"], unique=False)
    op.create_index("ix_upload_sessions_status_expires_at", "upload_sessions", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_upload_sessions_status_expires_at", table_name="upload_sessions")
    op.drop_index(op.f("ix_upload_sessions_user_id"), table_name="upload_sessions")
    op.drop_index(op.f("ix_upload_sessions_audiobook_id"), table_name="upload_sessions")
    op.drop_table("upload_sessions")
    sa.Enum(name="upload_status").drop(op.get_bind(), checkfirst=True)
