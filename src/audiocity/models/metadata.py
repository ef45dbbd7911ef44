"""Catalog metadata with its own rows: series, and the people credited on books (authors, narrators)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field


class ContributorRole(enum.StrEnum):
    AUTHOR = "AUTHOR"
    NARRATOR = "NARRATOR"


class Series(SQLModel, table=True):
    """A series of books; `name_key` (the name lowercased) makes names unique regardless of case."""

    __tablename__ = "series"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200)
    name_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    created_at: datetime = created_at_field()


class Contributor(SQLModel, table=True):
    """A person credited on books; `name_key` (lowercased) is unique and is what filters look up."""

    __tablename__ = "contributors"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200)
    name_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    created_at: datetime = created_at_field()


class AudiobookContributor(SQLModel, table=True):
    """A credit: `contributor` is the book's author or narrator number `position` (0-based, credit order)."""

    __tablename__ = "audiobook_contributors"
    __table_args__ = (Index("ix_audiobook_contributors_contributor", "contributor_id", "role", "audiobook_id"),)

    audiobook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("audiobooks.id", ondelete="CASCADE"), primary_key=True))
    role: ContributorRole = Field(sa_column=Column(Enum(ContributorRole, name="contributor_role"), primary_key=True))
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    contributor_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("contributors.id", ondelete="RESTRICT"), nullable=False)
    )
