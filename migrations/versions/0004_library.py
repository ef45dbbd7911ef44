"""listening progress and download audit

Revision ID: 0004_library
Revises: 0003_commerce
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_library"
down_revision: str | None = "0003_commerce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listening_progress",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "audiobook_id"),
    )
    op.create_index(
        op.f("ix_listening_progress_audiobook_id"), "listening_progress", ["audiobook_id"], unique=False
    )
    op.create_index(
        "ix_listening_progress_user_updated", "listening_progress", ["user_id", "updated_at"], unique=False
    )
    op.create_table(
        "download_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("audio_file_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("AUDIO", "TRANSCRIPT_TEXT", "TRANSCRIPT_VTT", "BUNDLE", name="download_kind"),
            nullable=False,
        ),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("range_start", sa.BigInteger(), nullable=True),
        sa.Column("range_end", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["audio_file_id"], ["audio_files.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_download_events_book_created", "download_events", ["audiobook_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_download_events_user_id"), "download_events", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_download_events_user_id"), table_name="download_events")
    op.drop_index("ix_download_events_book_created", table_name="download_events")
    op.drop_table("download_events")
    op.drop_index("ix_listening_progress_user_updated", table_name="listening_progress")
    op.drop_index(op.f("ix_listening_progress_audiobook_id"), table_name="listening_progress")
    op.drop_table("listening_progress")
    sa.Enum(name="download_kind").drop(op.get_bind(), checkfirst=True)
