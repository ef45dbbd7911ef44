"""transcript passages: the stitched transcript in short timed runs of sentences

Revision ID: 0009_passages
Revises: 0008_catalog_version
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_passages"
down_revision: str | None = "0008_catalog_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcript_passages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("end_seconds", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("audiobook_id", "position", name="uq_transcript_passages_position"),
    )
    op.create_index("ix_transcript_passages_audiobook_id", "transcript_passages", ["audiobook_id"])
    # Search shows passages, so a change to them is a change to what a public read can see.
    op.execute(
        "CREATE TRIGGER transcript_passages_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON transcript_passages FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS transcript_passages_bump_catalog_version ON transcript_passages")
    op.drop_index("ix_transcript_passages_audiobook_id", table_name="transcript_passages")
    op.drop_table("transcript_passages")
