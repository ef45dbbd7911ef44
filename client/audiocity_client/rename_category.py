from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class RenameCategory(BaseModel):
    rename_category: "RenameCategoryRenameCategory" = Field(alias="renameCategory")


class RenameCategoryRenameCategory(BaseModel):
    category: Optional["RenameCategoryRenameCategoryCategory"]
    errors: list["RenameCategoryRenameCategoryErrors"]


class RenameCategoryRenameCategoryCategory(BaseModel):
    id: str
    name: str
    slug: str


class RenameCategoryRenameCategoryErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


RenameCategory.model_rebuild()
RenameCategoryRenameCategory.model_rebuild()
