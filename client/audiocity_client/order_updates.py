from pydantic import Field

from .base_model import BaseModel
from .fragments import OrderDetails


class OrderUpdates(BaseModel):
    order_updates: "OrderUpdatesOrderUpdates" = Field(alias="orderUpdates")


OrderUpdatesOrderUpdates = OrderDetails
OrderUpdates.model_rebuild()
