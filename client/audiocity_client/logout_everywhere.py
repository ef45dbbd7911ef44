from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class LogoutEverywhere(BaseModel):
    logout_everywhere: "LogoutEverywhereLogoutEverywhere" = Field(
        alias="logoutEverywhere"
    )


class LogoutEverywhereLogoutEverywhere(BaseModel):
    ok: bool
    errors: list["LogoutEverywhereLogoutEverywhereErrors"]


class LogoutEverywhereLogoutEverywhereErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


LogoutEverywhere.model_rebuild()
LogoutEverywhereLogoutEverywhere.model_rebuild()
