from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Role, UserErrorCode


class Login(BaseModel):
    login: "LoginLogin"


class LoginLogin(BaseModel):
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    user: Optional["LoginLoginUser"]
    errors: list["LoginLoginErrors"]


class LoginLoginUser(BaseModel):
    id: str
    email: str
    display_name: str = Field(alias="displayName")
    role: Role
    created_at: datetime = Field(alias="createdAt")


class LoginLoginErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


Login.model_rebuild()
LoginLogin.model_rebuild()
