from datetime import datetime

from pydantic import Field

from .base_model import BaseModel
from .enums import Role


class Me(BaseModel):
    me: "MeMe"


class MeMe(BaseModel):
    id: str
    email: str
    display_name: str = Field(alias="displayName")
    role: Role
    created_at: datetime = Field(alias="createdAt")


Me.model_rebuild()
