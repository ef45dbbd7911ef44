from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Role, UserErrorCode


class Register(BaseModel):
    register: "RegisterRegister"


class RegisterRegister(BaseModel):
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    user: Optional["RegisterRegisterUser"]
    errors: list["RegisterRegisterErrors"]


class RegisterRegisterUser(BaseModel):
    id: str
    email: str
    display_name: str = Field(alias="displayName")
    role: Role
    created_at: datetime = Field(alias="createdAt")


class RegisterRegisterErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


Register.model_rebuild()
RegisterRegister.model_rebuild()
