from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from audiocity import models
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.common import Role


@strawberry.type
class User(Node):
    db_id: strawberry.Private[uuid.UUID]
    email: str
    display_name: str
    role: Role  # type: ignore[valid-type]
    created_at: datetime

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=to_global_id("User", user.id),
            db_id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            created_at=user.created_at,
        )
