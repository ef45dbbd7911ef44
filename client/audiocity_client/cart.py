from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel


class Cart(BaseModel):
    cart: Optional["CartCart"]


class CartCart(BaseModel):
    id: str
    total_quantity: int = Field(alias="totalQuantity")
    is_guest: bool = Field(alias="isGuest")
    lines: list["CartCartLines"]
    subtotal: list["CartCartSubtotal"]


class CartCartLines(BaseModel):
    audiobook: "CartCartLinesAudiobook"
    price: "CartCartLinesPrice"


class CartCartLinesAudiobook(BaseModel):
    id: str
    title: str


class CartCartLinesPrice(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class CartCartSubtotal(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


Cart.model_rebuild()
CartCart.model_rebuild()
CartCartLines.model_rebuild()
