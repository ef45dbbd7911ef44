"""Cart and orders of the viewer (admins see all orders)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.permissions import require_user
from audiocity.graphql.relay import Connection, decode_id
from audiocity.graphql.types.commerce import Cart, Order
from audiocity.services import cart as cart_service
from audiocity.services import orders
from audiocity.services.errors import NotFound, ServiceError


async def _orders_page(info: Info[Context, None], first: int | None, after: str | None) -> Connection[Order]:
    user = await require_user(info)
    async with info.context.resources.sessions() as s:
        try:
            page = await orders.list_orders(
                s, viewer_id=user.id, admin=await info.context.is_admin(), first=first, after=after
            )
        except ServiceError as exc:
            raise bad_input(exc.message) from exc
        lines = await orders.lines_for_orders(s, [o.id for o in page.items])
    nodes = [Order.build(o, lines[o.id]) for o in page.items]
    return Connection[Order].build(nodes, page.cursors, page.has_next_page, page.total_count)


async def _order(info: Info[Context, None], id: strawberry.ID) -> Order | None:
    user = await require_user(info)
    async with info.context.resources.sessions() as s:
        try:
            order = await orders.get_order(
                s, decode_id(id, "Order"), viewer_id=user.id, admin=await info.context.is_admin()
            )
        except NotFound:
            return None
        lines = await orders.lines_for_orders(s, [order.id])
    return Order.build(order, lines[order.id])


@strawberry.type
class CommerceQueries:
    @strawberry.field(description="The viewer's cart.")
    async def cart(self, info: Info[Context, None]) -> Cart:
        user = await require_user(info)
        async with info.context.session() as s:
            cart = await cart_service.cart_for_user(s, user.id)
            books = await cart_service.cart_books(s, cart.id)
        return Cart.build(cart, books)

    @strawberry.field(description="The viewer's orders, newest first; admins see everyone's.")
    async def orders(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Connection[Order]:
        return await _orders_page(info, first, after)

    @strawberry.field
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _order(info, id)
