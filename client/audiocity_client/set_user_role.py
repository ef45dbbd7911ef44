from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Role, UserErrorCode


class SetUserRole(BaseModel):
    set_user_role: "SetUserRoleSetUserRole" = Field(alias="setUserRole")


class SetUserRoleSetUserRole(BaseModel):
    user: Optional["SetUserRoleSetUserRoleUser"]
    errors: list["SetUserRoleSetUserRoleErrors"]


class SetUserRoleSetUserRoleUser(BaseModel):
    id: str
    email: str
    role: Role


class SetUserRoleSetUserRoleErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


SetUserRole.model_rebuild()
SetUserRoleSetUserRole.model_rebuild()
