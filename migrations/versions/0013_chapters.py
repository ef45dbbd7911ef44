"""chapters, the chapters WebVTT download, and preview clips

Revision ID: 0013_chapters
Revises: 0012_embeddings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_chapters"
down_revision: str | None = "0012_embeddings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = (
    "CREATE TRIGGER {table}_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
)


def upgrade() -> None:
    op.create_table(
        "chapters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("source", sa.Enum("DETECTED", "EDITED", name="chapter_source"), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("audiobook_id", "position", name="uq_chapters_position"),
    )
    op.create_index("ix_chapters_audiobook_id", "chapters", ["audiobook_id"])
    op.create_table(
        "audiobook_previews",
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("chosen_start_seconds", sa.Float(), nullable=True),
        sa.Column("chosen_duration_seconds", sa.Float(), nullable=True),
        sa.Column("storage_key", sa.String(), nullable=True),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("audiobook_id"),
    )
    op.add_column("transcripts", sa.Column("chapters_vtt", sa.Text(), nullable=True))
    op.execute("ALTER TYPE download_kind ADD VALUE IF NOT EXISTS 'CHAPTERS_VTT' AFTER 'TRANSCRIPT_VTT'")
    # A book's chapters and preview show in public catalog reads.
    for table in ("chapters", "audiobook_previews"):
        op.execute(_TRIGGER.format(table=table))


def downgrade() -> None:
    for table in ("chapters", "audiobook_previews"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
    op.drop_column("transcripts", "chapters_vtt")
    op.drop_table("audiobook_previews")
    op.drop_index("ix_chapters_audiobook_id", table_name="chapters")
    op.drop_table("chapters")
    sa.Enum(name="chapter_source").drop(op.get_bind(), checkfirst=True)
    # PostgreSQL cannot drop one value of an enum; CHAPTERS_VTT stays in download_kind (unused).
