"""Work promised by a transaction: a row written in that transaction, relayed to Dramatiq afterwards.

A message sent in an after-commit hook is lost when the broker is down at that moment or the process
dies between the commit and the send. An outbox row commits (or rolls back) with the change that
needs the work, and stays until a relay has handed it to the broker (workers/relay.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from audiocity.models.base import created_at_field, id_field


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_created_at", "created_at"),)

    id: uuid.UUID = id_field()
    actor_name: str = Field(sa_column=Column(Text, nullable=False))
    args: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    # Delivered by the broker no earlier than this (a delayed message); the relay sends it with the rest.
    not_before: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = 0
    created_at: datetime = created_at_field()
