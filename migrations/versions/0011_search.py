"""search: typo-tolerant names (pg_trgm), transcript passages with their own text-search vector

Revision ID: 0011_search
Revises: 0010_metadata

The book's `search_vector` no longer carries the transcript (passages do, so a hit can point at a
time); it gains the title in the `simple` configuration too, so unstemmed prefixes match.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_search"
down_revision: str | None = "0010_metadata"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same document as services.catalog.refresh_search_vector builds, for every book at once.
_BACKFILL = """
UPDATE audiobooks b SET
    search_vector =
        setweight(to_tsvector('english', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
     || setweight(to_tsvector('simple', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
     || setweight(to_tsvector('simple', array_to_string(b.authors, ' ') || ' '
                                      || array_to_string(b.narrators, ' ')), 'B')
     || setweight(to_tsvector('english', coalesce(b.summary, '') || ' '
                                      || array_to_string(b.tags, ' ') || ' ' || b.description), 'C'),
    search_names = concat_ws(' ', b.title, nullif(array_to_string(b.authors, ' '), ''),
                             nullif(array_to_string(b.narrators, ' '), ''))
"""

# The document before this revision: the transcript (first 200,000 characters) in the book's vector.
_OLD_DOCUMENT = """
UPDATE audiobooks b SET search_vector =
    setweight(to_tsvector('english', coalesce(b.title, '') || ' ' || coalesce(b.subtitle, '')), 'A')
 || setweight(to_tsvector('simple', array_to_string(b.authors, ' ') || ' '
                                  || array_to_string(b.narrators, ' ')), 'B')
 || setweight(to_tsvector('english', coalesce(b.summary, '') || ' '
                                  || array_to_string(b.tags, ' ') || ' ' || b.description), 'C')
 || setweight(to_tsvector('english', coalesce(
        (SELECT left(t.text, 200000) FROM transcripts t WHERE t.audiobook_id = b.id), '')), 'D')
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("audiobooks", sa.Column("search_names", sa.Text(), server_default="", nullable=False))
    op.execute(_BACKFILL)
    op.create_index(
        "ix_audiobooks_search_names_trgm",
        "audiobooks",
        ["search_names"],
        postgresql_using="gin",
        postgresql_ops={"search_names": "gin_trgm_ops"},
    )
    # Generated and stored: PostgreSQL fills it for existing rows now and for every write later.
    op.add_column(
        "transcript_passages",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english'::regconfig, text)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_transcript_passages_search", "transcript_passages", ["search_vector"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_transcript_passages_search", table_name="transcript_passages")
    op.drop_column("transcript_passages", "search_vector")
    op.drop_index("ix_audiobooks_search_names_trgm", table_name="audiobooks")
    op.drop_column("audiobooks", "search_names")
    op.execute(_OLD_DOCUMENT)
    # pg_trgm stays: other objects may use it, and it costs nothing unused.
