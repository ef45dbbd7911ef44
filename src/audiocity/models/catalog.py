"""The catalog: audiobooks, their categories, ordered audio files and transcripts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field

# English stems; unweighted lexemes rank as weight D, the lowest, below everything in the book's own vector.
PASSAGE_VECTOR_SQL = "to_tsvector('english'::regconfig, text)"


class TranscriptStatus(enum.StrEnum):
    NONE = "NONE"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"


def _text_array() -> Any:
    return Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False, server_default="{}"))


class Audiobook(SQLModel, table=True):
    __tablename__ = "audiobooks"
    __table_args__ = (
        Index("ix_audiobooks_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_audiobooks_search_names_trgm",
            "search_names",
            postgresql_using="gin",
            postgresql_ops={"search_names": "gin_trgm_ops"},
        ),
        Index("ix_audiobooks_created_id", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    title: str = Field(max_length=500, index=True)
    subtitle: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    authors: list[str] = _text_array()
    narrators: list[str] = _text_array()
    tags: list[str] = _text_array()
    summary: str | None = Field(default=None, sa_column=Column(Text))
    language: str = Field(default="en", max_length=16)
    price_cents: int = Field(ge=0)
    currency: str = Field(default="USD", max_length=3)
    cover_url: str | None = None
    series_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("series.id", ondelete="SET NULL"), index=True)
    )
    series_position: float | None = None
    published_year: int | None = None
    publisher: str | None = Field(default=None, max_length=200)
    isbn: str | None = Field(default=None, max_length=13, index=True, description="Normalised ISBN-13.")
    cover_key: str | None = Field(
        default=None, max_length=200, description="Storage folder of the uploaded cover (services.covers)."
    )
    cover_width: int | None = None
    cover_height: int | None = None
    cover_sizes: list[int] = Field(
        default_factory=list, sa_column=Column(ARRAY(Integer), nullable=False, server_default="{}")
    )
    deleted_at: datetime | None = timestamp_field()
    duration_seconds: float = 0.0
    published: bool = Field(default=False, index=True)
    transcript_status: TranscriptStatus = Field(
        default=TranscriptStatus.NONE,
        sa_column=Column(Enum(TranscriptStatus, name="transcript_status"), nullable=False),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime | None = timestamp_field()
    search_vector: Any = Field(
        default=None, sa_column=Column(TSVECTOR), description="Kept current by services.catalog.refresh_search_vector."
    )
    search_names: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, server_default=""),
        description="Title and people's names for typo-tolerant (trigram) search; kept with `search_vector`.",
    )


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200, unique=True)
    slug: str = Field(max_length=200, unique=True)


class AudiobookCategory(SQLModel, table=True):
    __tablename__ = "audiobook_categories"

    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), primary_key=True))
    category_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class AudioFile(SQLModel, table=True):
    """One audio file of a book; `position` is its place in play order (0-based, contiguous)."""

    __tablename__ = "audio_files"
    __table_args__ = (
        UniqueConstraint(
            "audiobook_id", "position", name="uq_audio_files_position", deferrable=True, initially="DEFERRED"
        ),
    )

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    file_name: str = Field(max_length=500)
    content_type: str = Field(max_length=200)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    duration_seconds: float = 0.0
    container: str | None = None
    codec: str | None = None
    bitrate: int | None = None
    md5_hex: str | None = None
    storage_key: str = Field(unique=True)
    created_at: datetime = created_at_field()


class Transcript(SQLModel, table=True):
    """The whole book's transcript, stitched from its files in play order."""

    __tablename__ = "transcripts"

    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), primary_key=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    vtt: str = Field(sa_column=Column(Text, nullable=False))
    chapters_vtt: str | None = Field(
        default=None, sa_column=Column(Text), description="The chapters as WebVTT; kept current by services.chapters."
    )
    updated_at: datetime = created_at_field()


class TranscriptChunk(SQLModel, table=True):
    """One transcribed chunk of one file, stored as it finishes so a restarted job skips it."""

    __tablename__ = "transcript_chunks"
    __table_args__ = (UniqueConstraint("audio_file_id", "chunk_index", name="uq_transcript_chunks"),)

    id: uuid.UUID = id_field()
    audio_file_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chunk_index: int
    start_seconds: float
    end_seconds: float
    text: str = Field(sa_column=Column(Text, nullable=False))
    segments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    provider: str = ""
    model: str = ""
    created_at: datetime = created_at_field()


class TranscriptPassage(SQLModel, table=True):
    """A few sentences of the stitched transcript with their place on the book's timeline: the unit
    that transcript search, meaning search and chapter detection point into."""

    __tablename__ = "transcript_passages"
    __table_args__ = (
        UniqueConstraint("audiobook_id", "position", name="uq_transcript_passages_position"),
        Index("ix_transcript_passages_search", "search_vector", postgresql_using="gin"),
    )

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    start_seconds: float
    end_seconds: float
    text: str = Field(sa_column=Column(Text, nullable=False))
    # Written by PostgreSQL from `text` (never by the application): transcript search matches here.
    search_vector: Any = Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed(PASSAGE_VECTOR_SQL, persisted=True)),
    )


class CatalogVersion(SQLModel, table=True):
    """One row whose `version` database triggers bump in the same transaction as any write to the
    catalog tables, so every process can tell whether a cached public answer is still current."""

    __tablename__ = "catalog_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
