from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class DeleteCategory(BaseModel):
    delete_category: "DeleteCategoryDeleteCategory" = Field(alias="deleteCategory")


class DeleteCategoryDeleteCategory(BaseModel):
    deleted_id: Optional[str] = Field(alias="deletedId")
    errors: list["DeleteCategoryDeleteCategoryErrors"]


class DeleteCategoryDeleteCategoryErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


DeleteCategory.model_rebuild()
DeleteCategoryDeleteCategory.model_rebuild()
