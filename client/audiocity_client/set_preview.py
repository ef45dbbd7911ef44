from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class SetPreview(BaseModel):
    set_preview: "SetPreviewSetPreview" = Field(alias="setPreview")


class SetPreviewSetPreview(BaseModel):
    audiobook: Optional["SetPreviewSetPreviewAudiobook"]
    errors: list["SetPreviewSetPreviewErrors"]


class SetPreviewSetPreviewAudiobook(BaseModel):
    id: str
    preview: Optional["SetPreviewSetPreviewAudiobookPreview"]


class SetPreviewSetPreviewAudiobookPreview(BaseModel):
    url: str
    start_seconds: float = Field(alias="startSeconds")
    duration_seconds: float = Field(alias="durationSeconds")
    content_type: str = Field(alias="contentType")


class SetPreviewSetPreviewErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


SetPreview.model_rebuild()
SetPreviewSetPreview.model_rebuild()
SetPreviewSetPreviewAudiobook.model_rebuild()
