from typing import Optional

from .base_model import BaseModel
from .fragments import OrderDetails


class Order(BaseModel):
    order: Optional["OrderOrder"]


OrderOrder = OrderDetails
Order.model_rebuild()
