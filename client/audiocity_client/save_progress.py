from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class SaveProgress(BaseModel):
    save_progress: "SaveProgressSaveProgress" = Field(alias="saveProgress")


class SaveProgressSaveProgress(BaseModel):
    progress: Optional["SaveProgressSaveProgressProgress"]
    errors: list["SaveProgressSaveProgressErrors"]


class SaveProgressSaveProgressProgress(BaseModel):
    position_seconds: float = Field(alias="positionSeconds")
    duration_seconds: float = Field(alias="durationSeconds")
    file_index: Optional[int] = Field(alias="fileIndex")
    offset_seconds: float = Field(alias="offsetSeconds")
    percent: float
    finished: bool
    updated_at: datetime = Field(alias="updatedAt")


class SaveProgressSaveProgressErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


SaveProgress.model_rebuild()
SaveProgressSaveProgress.model_rebuild()
