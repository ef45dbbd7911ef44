from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode
from .fragments import AudiobookMetadata


class UploadCover(BaseModel):
    upload_cover: "UploadCoverUploadCover" = Field(alias="uploadCover")


class UploadCoverUploadCover(BaseModel):
    audiobook: Optional["UploadCoverUploadCoverAudiobook"]
    errors: list["UploadCoverUploadCoverErrors"]


UploadCoverUploadCoverAudiobook = AudiobookMetadata


class UploadCoverUploadCoverErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


UploadCover.model_rebuild()
UploadCoverUploadCover.model_rebuild()
