from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class RemoveFromCart(BaseModel):
    remove_from_cart: "RemoveFromCartRemoveFromCart" = Field(alias="removeFromCart")


class RemoveFromCartRemoveFromCart(BaseModel):
    cart: Optional["RemoveFromCartRemoveFromCartCart"]
    errors: list["RemoveFromCartRemoveFromCartErrors"]


class RemoveFromCartRemoveFromCartCart(BaseModel):
    id: str
    total_quantity: int = Field(alias="totalQuantity")


class RemoveFromCartRemoveFromCartErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


RemoveFromCart.model_rebuild()
RemoveFromCartRemoveFromCart.model_rebuild()
