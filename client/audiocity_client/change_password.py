from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class ChangePassword(BaseModel):
    change_password: "ChangePasswordChangePassword" = Field(alias="changePassword")


class ChangePasswordChangePassword(BaseModel):
    user: Optional["ChangePasswordChangePasswordUser"]
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    errors: list["ChangePasswordChangePasswordErrors"]


class ChangePasswordChangePasswordUser(BaseModel):
    id: str
    email: str


class ChangePasswordChangePasswordErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


ChangePassword.model_rebuild()
ChangePasswordChangePassword.model_rebuild()
