from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode
from .fragments import AudiobookSummary


class UpdateAudiobook(BaseModel):
    update_audiobook: "UpdateAudiobookUpdateAudiobook" = Field(alias="updateAudiobook")


class UpdateAudiobookUpdateAudiobook(BaseModel):
    audiobook: Optional["UpdateAudiobookUpdateAudiobookAudiobook"]
    errors: list["UpdateAudiobookUpdateAudiobookErrors"]


UpdateAudiobookUpdateAudiobookAudiobook = AudiobookSummary


class UpdateAudiobookUpdateAudiobookErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


UpdateAudiobook.model_rebuild()
UpdateAudiobookUpdateAudiobook.model_rebuild()
