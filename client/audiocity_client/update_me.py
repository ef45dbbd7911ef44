from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Role, SignInMethod, UserErrorCode


class UpdateMe(BaseModel):
    update_me: "UpdateMeUpdateMe" = Field(alias="updateMe")


class UpdateMeUpdateMe(BaseModel):
    user: Optional["UpdateMeUpdateMeUser"]
    errors: list["UpdateMeUpdateMeErrors"]


class UpdateMeUpdateMeUser(BaseModel):
    id: str
    email: str
    display_name: str = Field(alias="displayName")
    role: Role
    sign_in_methods: list[SignInMethod] = Field(alias="signInMethods")


class UpdateMeUpdateMeErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


UpdateMe.model_rebuild()
UpdateMeUpdateMe.model_rebuild()
