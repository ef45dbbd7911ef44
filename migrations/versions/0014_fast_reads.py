"""the catalog version trigger also notifies listeners (LISTEN audiocity_catalog)

Revision ID: 0014_fast_reads
Revises: 0013_chapters
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_fast_reads"
down_revision: str | None = "0013_chapters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Same bump as 0008, plus a notification carrying the new version; PostgreSQL delivers it to
    # every listener when (and only if) the writing transaction commits.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            bumped bigint;
        BEGIN
            UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version INTO bumped;
            PERFORM pg_notify('audiocity_catalog', bumped::text);
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE catalog_version SET version = version + 1 WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
