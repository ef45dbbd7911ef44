from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class GrantAudiobook(BaseModel):
    grant_audiobook: "GrantAudiobookGrantAudiobook" = Field(alias="grantAudiobook")


class GrantAudiobookGrantAudiobook(BaseModel):
    audiobook: Optional["GrantAudiobookGrantAudiobookAudiobook"]
    errors: list["GrantAudiobookGrantAudiobookErrors"]


class GrantAudiobookGrantAudiobookAudiobook(BaseModel):
    id: str
    title: str
    owned: bool


class GrantAudiobookGrantAudiobookErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


GrantAudiobook.model_rebuild()
GrantAudiobookGrantAudiobook.model_rebuild()
