from typing import Optional

from .base_model import BaseModel
from .enums import UserErrorCode


class Logout(BaseModel):
    logout: "LogoutLogout"


class LogoutLogout(BaseModel):
    ok: bool
    errors: list["LogoutLogoutErrors"]


class LogoutLogoutErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


Logout.model_rebuild()
LogoutLogout.model_rebuild()
