from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import OrderStatus, PaymentProvider, UserErrorCode


class Checkout(BaseModel):
    checkout: "CheckoutCheckout"


class CheckoutCheckout(BaseModel):
    order: Optional["CheckoutCheckoutOrder"]
    payment: Optional["CheckoutCheckoutPayment"]
    errors: list["CheckoutCheckoutErrors"]


class CheckoutCheckoutOrder(BaseModel):
    id: str
    status: OrderStatus
    total: "CheckoutCheckoutOrderTotal"
    lines: list["CheckoutCheckoutOrderLines"]


class CheckoutCheckoutOrderTotal(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class CheckoutCheckoutOrderLines(BaseModel):
    title: str
    price: "CheckoutCheckoutOrderLinesPrice"


class CheckoutCheckoutOrderLinesPrice(BaseModel):
    amount_cents: int = Field(alias="amountCents")
    currency: Any


class CheckoutCheckoutPayment(BaseModel):
    provider: PaymentProvider
    redirect_url: Optional[str] = Field(alias="redirectUrl")
    client_secret: Optional[str] = Field(alias="clientSecret")


class CheckoutCheckoutErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


Checkout.model_rebuild()
CheckoutCheckout.model_rebuild()
CheckoutCheckoutOrder.model_rebuild()
CheckoutCheckoutOrderLines.model_rebuild()
