"""embeddings: pgvector vectors of books and transcript passages, for meaning search

Only where PostgreSQL offers the `vector` extension (`pg_available_extensions`): the embedded PostgreSQL
and the compose image do; a plain PostgreSQL without pgvector gets neither extension nor table, and the
store runs with meaning search reporting itself unavailable. To add it later, install pgvector,
downgrade to the revision before this one and upgrade again.

Revision ID: 0012_embeddings
Revises: 0011_search
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "0012_embeddings"
down_revision: str | None = "0011_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = 384


def vector_available() -> bool:
    """Whether this PostgreSQL can create the `vector` extension (or already has it)."""
    found = op.get_bind().execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    return found is not None


def upgrade() -> None:
    if not vector_available():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "embeddings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_seconds", sa.Float(), nullable=True),
        sa.Column("end_seconds", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_sha1", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("embedding", Vector(DIMENSIONS), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("audiobook_id", "provider", "model", "kind", "position", name="uq_embeddings_item"),
    )
    op.create_index("ix_embeddings_audiobook_id", "embeddings", ["audiobook_id"])
    op.create_index(
        "ix_embeddings_vector",
        "embeddings",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    # Meaning search and `similar` answer from these rows, so a change to them changes public reads.
    op.execute(
        "CREATE TRIGGER embeddings_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON embeddings FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS embeddings")  # its trigger and indexes go with it
    # The extension stays: other schemas may use it, and dropping it needs more rights than creating it.
