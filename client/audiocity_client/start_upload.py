from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class StartUpload(BaseModel):
    start_upload: "StartUploadStartUpload" = Field(alias="startUpload")


class StartUploadStartUpload(BaseModel):
    upload: Optional["StartUploadStartUploadUpload"]
    errors: list["StartUploadStartUploadErrors"]


class StartUploadStartUploadUpload(BaseModel):
    id: str
    url: str
    method: str
    headers: Any
    expires_at: datetime = Field(alias="expiresAt")
    size_bytes: float = Field(alias="sizeBytes")
    chunk_size: int = Field(alias="chunkSize")


class StartUploadStartUploadErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


StartUpload.model_rebuild()
StartUploadStartUpload.model_rebuild()
