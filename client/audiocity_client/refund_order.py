from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode
from .fragments import OrderDetails


class RefundOrder(BaseModel):
    refund_order: "RefundOrderRefundOrder" = Field(alias="refundOrder")


class RefundOrderRefundOrder(BaseModel):
    order: Optional["RefundOrderRefundOrderOrder"]
    errors: list["RefundOrderRefundOrderErrors"]


RefundOrderRefundOrderOrder = OrderDetails


class RefundOrderRefundOrderErrors(BaseModel):
    code: UserErrorCode
    field: Optional[str]
    message: str


RefundOrder.model_rebuild()
RefundOrderRefundOrder.model_rebuild()
