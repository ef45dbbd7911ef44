"""Accounts and their refresh tokens."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, Enum, ForeignKey
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field, timestamp_field


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    CUSTOMER = "CUSTOMER"


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: uuid.UUID = id_field()
    email: str = Field(max_length=320, unique=True, description="Stored lowercased.")
    password_hash: str | None = None
    display_name: str = Field(max_length=200)
    role: Role = Field(default=Role.CUSTOMER, sa_column=Column(Enum(Role, name="user_role"), nullable=False))
    google_sub: str | None = Field(default=None, unique=True)
    created_at: datetime = created_at_field()


class RefreshToken(SQLModel, table=True):
    """Opaque refresh tokens are stored hashed; rotating one revokes it.

    Every token descends from one sign-in, its `family`; a rotated token keeps the family and its
    `expires_at` (the family's absolute end). Presenting a token that was already rotated revokes
    the whole family: someone else holds a copy.
    """

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = timestamp_field()
    rotated_at: datetime | None = timestamp_field()


class PasswordResetToken(SQLModel, table=True):
    """A single-use reset link's token, stored hashed."""

    __tablename__ = "password_reset_tokens"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))
    token_hash: str = Field(unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = timestamp_field()


class SignInCode(SQLModel, table=True):
    """The one-time code that ends the redirect sign-in flow at the frontend, stored hashed."""

    __tablename__ = "sign_in_codes"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))
    code_hash: str = Field(unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = timestamp_field()
