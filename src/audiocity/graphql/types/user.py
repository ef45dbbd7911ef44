from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from audiocity import models
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.common import Role


@strawberry.type(description="A person with an account.")
class User(Node):
    db_id: strawberry.Private[uuid.UUID]
    email: str = strawberry.field(description="Sign-in email, lowercased.")
    display_name: str = strawberry.field(description="The name shown to others.")
    role: Role = strawberry.field(description="What the user may do.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the account was created.")

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
