from __future__ import annotations

import enum
import uuid
from datetime import datetime

import strawberry

from audiocity import models
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.common import Role
from audiocity.services.accounts import sign_in_methods


@strawberry.enum(description="A way the user can sign in.")
class SignInMethod(enum.Enum):
    PASSWORD = strawberry.enum_value("PASSWORD", description="Email and password.")
    GOOGLE = strawberry.enum_value("GOOGLE", description="A linked Google account.")


@strawberry.type(description="A person with an account.")
class User(Node):
    db_id: strawberry.Private[uuid.UUID]
    email: str = strawberry.field(description="Sign-in email, lowercased.")
    display_name: str = strawberry.field(description="The name shown to others.")
    role: Role = strawberry.field(description="What the user may do.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the account was created.")
    sign_in_methods: list[SignInMethod] = strawberry.field(
        description="How this account signs in; a Google-only account gets a password through a reset email."
    )

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=to_global_id("User", user.id),
            db_id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            created_at=user.created_at,
            sign_in_methods=[SignInMethod(m) for m in sign_in_methods(user)],
        )
