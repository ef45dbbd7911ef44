from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import OrderDetails


class Orders(BaseModel):
    orders: "OrdersOrders"


class OrdersOrders(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "OrdersOrdersPageInfo" = Field(alias="pageInfo")
    edges: list["OrdersOrdersEdges"]


class OrdersOrdersPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class OrdersOrdersEdges(BaseModel):
    node: "OrdersOrdersEdgesNode"


OrdersOrdersEdgesNode = OrderDetails
Orders.model_rebuild()
OrdersOrders.model_rebuild()
OrdersOrdersEdges.model_rebuild()
