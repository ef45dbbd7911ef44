from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class CreateCategory(BaseModel):
    create_category: "CreateCategoryCreateCategory" = Field(alias="createCategory")


class CreateCategoryCreateCategory(BaseModel):
    category: Optional["CreateCategoryCreateCategoryCategory"]
    errors: list["CreateCategoryCreateCategoryErrors"]


class CreateCategoryCreateCategoryCategory(BaseModel):
    id: str
    name: str
    slug: str


class CreateCategoryCreateCategoryErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


CreateCategory.model_rebuild()
CreateCategoryCreateCategory.model_rebuild()
