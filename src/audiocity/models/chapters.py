"""Chapters of a book and its public preview clip."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field


class ChapterSource(enum.StrEnum):
    DETECTED = "DETECTED"  # found by the pipeline; replaced by the next transcription
    EDITED = "EDITED"  # set by an admin; transcription leaves the book's chapters alone


class Chapter(SQLModel, table=True):
    """One chapter: its title and where it starts on the book's timeline (files in play order)."""

    __tablename__ = "chapters"
    __table_args__ = (UniqueConstraint("audiobook_id", "position", name="uq_chapters_position"),)

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    start_seconds: float
    source: ChapterSource = Field(
        default=ChapterSource.DETECTED,
        sa_column=Column(Enum(ChapterSource, name="chapter_source"), nullable=False),
    )


class AudiobookPreview(SQLModel, table=True):
    """The range an admin chose for the book's sample clip (none: the first PREVIEW_SECONDS) and the
    clip cut from it (`storage_key` set once a cut has finished)."""

    __tablename__ = "audiobook_previews"

    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), primary_key=True))
    chosen_start_seconds: float | None = None
    chosen_duration_seconds: float | None = None
    storage_key: str | None = None
    start_seconds: float = 0.0
    duration_seconds: float = 0.0
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    content_type: str = Field(default="audio/mp4", max_length=100)
    updated_at: datetime = created_at_field()
