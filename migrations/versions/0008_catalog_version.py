"""catalog version, bumped by triggers in the same transaction as any write a public read can see

Revision ID: 0008_catalog_version
Revises: 0007_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_catalog_version"
down_revision: str | None = "0007_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything a public catalog read shows comes from these tables (search reads audiobooks.search_vector).
CATALOG_TABLES = ("audiobooks", "audio_files", "categories", "audiobook_categories")


def upgrade() -> None:
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
    op.execute(
        """
        CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE catalog_version SET version = version + 1 WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table in CATALOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
        )


def downgrade() -> None:
    for table in CATALOG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_catalog_version()")
    op.drop_table("catalog_version")
