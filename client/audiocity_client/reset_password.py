from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class ResetPassword(BaseModel):
    reset_password: "ResetPasswordResetPassword" = Field(alias="resetPassword")


class ResetPasswordResetPassword(BaseModel):
    user: Optional["ResetPasswordResetPasswordUser"]
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    errors: list["ResetPasswordResetPasswordErrors"]


class ResetPasswordResetPasswordUser(BaseModel):
    id: str
    email: str


class ResetPasswordResetPasswordErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


ResetPassword.model_rebuild()
ResetPasswordResetPassword.model_rebuild()
