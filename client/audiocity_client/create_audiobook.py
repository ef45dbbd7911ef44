from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode
from .fragments import AudiobookSummary


class CreateAudiobook(BaseModel):
    create_audiobook: "CreateAudiobookCreateAudiobook" = Field(alias="createAudiobook")


class CreateAudiobookCreateAudiobook(BaseModel):
    audiobook: Optional["CreateAudiobookCreateAudiobookAudiobook"]
    errors: list["CreateAudiobookCreateAudiobookErrors"]


CreateAudiobookCreateAudiobookAudiobook = AudiobookSummary


class CreateAudiobookCreateAudiobookErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


CreateAudiobook.model_rebuild()
CreateAudiobookCreateAudiobook.model_rebuild()
