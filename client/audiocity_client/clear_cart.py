from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class ClearCart(BaseModel):
    clear_cart: "ClearCartClearCart" = Field(alias="clearCart")


class ClearCartClearCart(BaseModel):
    cart: Optional["ClearCartClearCartCart"]
    errors: list["ClearCartClearCartErrors"]


class ClearCartClearCartCart(BaseModel):
    id: str
    total_quantity: int = Field(alias="totalQuantity")


class ClearCartClearCartErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


ClearCart.model_rebuild()
ClearCartClearCart.model_rebuild()
