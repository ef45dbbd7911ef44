"""Listening progress per user and book, and the audit trail of downloads."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Enum, Float, ForeignKey, Index
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field


class DownloadKind(enum.StrEnum):
    AUDIO = "AUDIO"
    TRANSCRIPT_TEXT = "TRANSCRIPT_TEXT"
    TRANSCRIPT_VTT = "TRANSCRIPT_VTT"
    CHAPTERS_VTT = "CHAPTERS_VTT"
    BUNDLE = "BUNDLE"


class ListeningProgress(SQLModel, table=True):
    """Where a listener is in a book, in seconds across its files in play order; the last write wins."""

    __tablename__ = "listening_progress"
    __table_args__ = (Index("ix_listening_progress_user_updated", "user_id", "updated_at"),)

    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    audiobook_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    position_seconds: float = Field(sa_column=Column(Float, nullable=False))
    updated_at: datetime = created_at_field()


class DownloadEvent(SQLModel, table=True):
    """One served download request (who, what, when); ranged requests record the bytes asked for."""

    __tablename__ = "download_events"
    __table_args__ = (Index("ix_download_events_book_created", "audiobook_id", "created_at"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), nullable=False))
    audio_file_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("audio_files.id", ondelete="SET NULL"))
    )
    kind: DownloadKind = Field(sa_column=Column(Enum(DownloadKind, name="download_kind"), nullable=False))
    storage_key: str | None = Field(default=None, description="The object served; none for a bundle.")
    range_start: int | None = Field(default=None, sa_column=Column(BigInteger))
    range_end: int | None = Field(default=None, sa_column=Column(BigInteger), description="Inclusive.")
    created_at: datetime = created_at_field()
