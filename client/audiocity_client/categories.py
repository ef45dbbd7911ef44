from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class Categories(BaseModel):
    categories: list["CategoriesCategories"]


class CategoriesCategories(BaseModel):
    id: str
    name: str
    slug: str
    audiobook_count: Optional[int] = Field(alias="audiobookCount")


Categories.model_rebuild()
