from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class RefreshToken(BaseModel):
    refresh_token: "RefreshTokenRefreshToken" = Field(alias="refreshToken")


class RefreshTokenRefreshToken(BaseModel):
    access_token: Optional[str] = Field(alias="accessToken")
    refresh_token: Optional[str] = Field(alias="refreshToken")
    errors: list["RefreshTokenRefreshTokenErrors"]


class RefreshTokenRefreshTokenErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


RefreshToken.model_rebuild()
RefreshTokenRefreshToken.model_rebuild()
