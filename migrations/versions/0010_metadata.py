"""metadata: series, publication year, publisher, ISBN, uploaded covers, credited people, soft delete

Authors and narrators get their own rows (`contributors`, credited through `audiobook_contributors`
with role and position) so "all books by X" is one indexed query; the `authors` / `narrators` arrays
on `audiobooks` stay as a copy the catalog service keeps in sync, so a catalog page is still one
statement. Existing arrays are copied into the new tables here.

Revision ID: 0010_metadata
Revises: 0009_passages
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_metadata"
down_revision: str | None = "0009_passages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("series", "contributors", "audiobook_contributors")


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "contributors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    role = postgresql.ENUM("AUTHOR", "NARRATOR", name="contributor_role", create_type=False)
    role.create(op.get_bind(), checkfirst=False)
    op.create_table(
        "audiobook_contributors",
        sa.Column("audiobook_id", sa.Uuid(), nullable=False),
        sa.Column("role", role, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("contributor_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["audiobook_id"], ["audiobooks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contributor_id"], ["contributors.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("audiobook_id", "role", "position"),
    )
    op.create_index(
        "ix_audiobook_contributors_contributor",
        "audiobook_contributors",
        ["contributor_id", "role", "audiobook_id"],
    )

    op.add_column("audiobooks", sa.Column("series_id", sa.Uuid(), nullable=True))
    op.add_column("audiobooks", sa.Column("series_position", sa.Float(), nullable=True))
    op.add_column("audiobooks", sa.Column("published_year", sa.Integer(), nullable=True))
    op.add_column("audiobooks", sa.Column("publisher", sa.String(length=200), nullable=True))
    op.add_column("audiobooks", sa.Column("isbn", sa.String(length=13), nullable=True))
    op.add_column("audiobooks", sa.Column("cover_key", sa.String(length=200), nullable=True))
    op.add_column("audiobooks", sa.Column("cover_width", sa.Integer(), nullable=True))
    op.add_column("audiobooks", sa.Column("cover_height", sa.Integer(), nullable=True))
    op.add_column(
        "audiobooks",
        sa.Column("cover_sizes", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
    )
    op.add_column("audiobooks", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        "audiobooks_series_id_fkey", "audiobooks", "series", ["series_id"], ["id"], ondelete="SET NULL"
    )
    op.create_index("ix_audiobooks_series_id", "audiobooks", ["series_id"])
    op.create_index("ix_audiobooks_isbn", "audiobooks", ["isbn"])

    # Existing credits: one person per distinct name (ignoring case), the first spelling seen wins.
    op.execute(
        """
        INSERT INTO contributors (id, name, name_key)
        SELECT gen_random_uuid(), name, key FROM (
            SELECT DISTINCT ON (lower(n.name)) n.name, lower(n.name) AS key
            FROM audiobooks b,
                 LATERAL unnest(b.authors || b.narrators) AS n(name)
            WHERE btrim(n.name) <> ''
            ORDER BY lower(n.name), b.created_at, n.name
        ) AS names
        """
    )
    for column, role_name in (("authors", "AUTHOR"), ("narrators", "NARRATOR")):
        op.execute(
            f"""
            INSERT INTO audiobook_contributors (audiobook_id, role, position, contributor_id)
            SELECT b.id, '{role_name}', min(n.ordinality) - 1, c.id
            FROM audiobooks b,
                 LATERAL unnest(b.{column}) WITH ORDINALITY AS n(name, ordinality)
            JOIN contributors c ON c.name_key = lower(n.name)
            GROUP BY b.id, c.id
            """
        )
    # Public reads show series names and credits, so writes to them bump the catalog version.
    for table in NEW_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
        )


def downgrade() -> None:
    for table in NEW_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
    op.drop_index("ix_audiobooks_isbn", table_name="audiobooks")
    op.drop_index("ix_audiobooks_series_id", table_name="audiobooks")
    op.drop_constraint("audiobooks_series_id_fkey", "audiobooks", type_="foreignkey")
    for column in (
        "deleted_at",
        "cover_sizes",
        "cover_height",
        "cover_width",
        "cover_key",
        "isbn",
        "publisher",
        "published_year",
        "series_position",
        "series_id",
    ):
        op.drop_column("audiobooks", column)
    op.drop_index("ix_audiobook_contributors_contributor", table_name="audiobook_contributors")
    op.drop_table("audiobook_contributors")
    op.execute("DROP TYPE contributor_role")
    op.drop_table("contributors")
    op.drop_table("series")
