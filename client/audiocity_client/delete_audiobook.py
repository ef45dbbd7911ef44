from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class DeleteAudiobook(BaseModel):
    delete_audiobook: "DeleteAudiobookDeleteAudiobook" = Field(alias="deleteAudiobook")


class DeleteAudiobookDeleteAudiobook(BaseModel):
    deleted_id: Optional[str] = Field(alias="deletedId")
    soft_deleted: bool = Field(alias="softDeleted")
    errors: list["DeleteAudiobookDeleteAudiobookErrors"]


class DeleteAudiobookDeleteAudiobookErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


DeleteAudiobook.model_rebuild()
DeleteAudiobookDeleteAudiobook.model_rebuild()
