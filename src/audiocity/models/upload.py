"""Resumable upload sessions: a file on its way to storage, before it becomes an `AudioFile`."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Enum, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field


class UploadStatus(enum.StrEnum):
    PENDING = "PENDING"  # bytes may still be arriving
    COMPLETED = "COMPLETED"  # checked and added to the book as `audio_file_id`
    FAILED = "FAILED"  # refused by completeUpload; its object was deleted
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # abandoned; its object was deleted

    @property
    def closed(self) -> bool:
        return self is not UploadStatus.PENDING


class UploadSession(SQLModel, table=True):
    """One `startUpload`. The row outlives the book and the user (SET NULL) so that cleanup still finds
    its object; closed rows are kept a while (`UPLOAD_RETENTION_SECONDS`) and then purged."""

    __tablename__ = "upload_sessions"
    __table_args__ = (Index("ix_upload_sessions_status_expires_at", "status", "expires_at"),)

    id: uuid.UUID = id_field()
    audiobook_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("audiobooks.id", ondelete="SET NULL"), index=True)
    )
    user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    )
    storage_key: str = Field(sa_column=Column(String(1024), nullable=False, unique=True))
    upload_url: str = Field(sa_column=Column(Text, nullable=False), description="Where the client sends the bytes.")
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=200)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False), description="As declared by the client.")
    md5_hex: str | None = Field(default=None, max_length=32)
    crc32c: int | None = Field(default=None, sa_column=Column(BigInteger))
    status: UploadStatus = Field(
        default=UploadStatus.PENDING,
        sa_column=Column(Enum(UploadStatus, name="upload_status"), nullable=False),
    )
    error: str | None = Field(default=None, sa_column=Column(Text))
    audio_file_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("audio_files.id", ondelete="SET NULL"))
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()
