from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class RequestPasswordReset(BaseModel):
    request_password_reset: "RequestPasswordResetRequestPasswordReset" = Field(
        alias="requestPasswordReset"
    )


class RequestPasswordResetRequestPasswordReset(BaseModel):
    ok: bool
    message: str
    errors: list["RequestPasswordResetRequestPasswordResetErrors"]


class RequestPasswordResetRequestPasswordResetErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


RequestPasswordReset.model_rebuild()
RequestPasswordResetRequestPasswordReset.model_rebuild()
