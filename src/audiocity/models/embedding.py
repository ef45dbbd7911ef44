"""Meaning-search vectors: one per book (title, summary, description) and one per transcript passage.

Stored with pgvector. The table exists only where PostgreSQL has the `vector` extension (the migration
checks `pg_available_extensions`); without it the store runs and meaning search says it is unavailable.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from audiocity.ai.base import EMBEDDING_DIMENSIONS
from audiocity.models.base import created_at_field, id_field


class EmbeddingKind(enum.StrEnum):
    BOOK = "book"  # title + summary + description; `text` is the summary (or description) shown as the match
    PASSAGE = "passage"  # one transcript passage, with its times on the book's timeline


class Embedding(SQLModel, table=True):
    """One vector of one model. Vectors of different models never meet: every query names its model."""

    __tablename__ = "embeddings"
    __table_args__ = (
        UniqueConstraint("audiobook_id", "provider", "model", "kind", "position", name="uq_embeddings_item"),
        Index(
            "ix_embeddings_vector",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    start_seconds: float | None = Field(default=None, sa_column=Column(Float))
    end_seconds: float | None = Field(default=None, sa_column=Column(Float))
    text: str = Field(sa_column=Column(Text, nullable=False))
    content_sha1: str = Field(sa_column=Column(String(40), nullable=False))
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    model: str = Field(sa_column=Column(String(100), nullable=False))
    embedding: Any = Field(sa_column=Column(Vector(EMBEDDING_DIMENSIONS), nullable=False))
    created_at: datetime = created_at_field()
