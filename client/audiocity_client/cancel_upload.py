from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class CancelUpload(BaseModel):
    cancel_upload: "CancelUploadCancelUpload" = Field(alias="cancelUpload")


class CancelUploadCancelUpload(BaseModel):
    cancelled: bool
    errors: list["CancelUploadCancelUploadErrors"]


class CancelUploadCancelUploadErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


CancelUpload.model_rebuild()
CancelUploadCancelUpload.model_rebuild()
