from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class AddToCart(BaseModel):
    add_to_cart: "AddToCartAddToCart" = Field(alias="addToCart")


class AddToCartAddToCart(BaseModel):
    cart: Optional["AddToCartAddToCartCart"]
    errors: list["AddToCartAddToCartErrors"]


class AddToCartAddToCartCart(BaseModel):
    id: str
    total_quantity: int = Field(alias="totalQuantity")
    lines: list["AddToCartAddToCartCartLines"]


class AddToCartAddToCartCartLines(BaseModel):
    audiobook: "AddToCartAddToCartCartLinesAudiobook"
    price: "AddToCartAddToCartCartLinesPrice"


class AddToCartAddToCartCartLinesAudiobook(BaseModel):
    id: str
    title: str


class AddToCartAddToCartCartLinesPrice(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class AddToCartAddToCartErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


AddToCart.model_rebuild()
AddToCartAddToCart.model_rebuild()
AddToCartAddToCartCart.model_rebuild()
AddToCartAddToCartCartLines.model_rebuild()
