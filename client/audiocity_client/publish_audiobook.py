from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode
from .fragments import AudiobookSummary


class PublishAudiobook(BaseModel):
    publish_audiobook: "PublishAudiobookPublishAudiobook" = Field(
        alias="publishAudiobook"
    )


class PublishAudiobookPublishAudiobook(BaseModel):
    audiobook: Optional["PublishAudiobookPublishAudiobookAudiobook"]
    errors: list["PublishAudiobookPublishAudiobookErrors"]


PublishAudiobookPublishAudiobookAudiobook = AudiobookSummary


class PublishAudiobookPublishAudiobookErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


PublishAudiobook.model_rebuild()
PublishAudiobookPublishAudiobook.model_rebuild()
