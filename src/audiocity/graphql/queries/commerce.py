"""Cart and orders of the viewer (admins see all orders); anonymous clients see their guest cart."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import bad_input
from audiocity.graphql.mutations.commerce import guest_token, merge_guest_cart
from audiocity.graphql.nodes import node_fetcher
from audiocity.graphql.permissions import optional_user, require_user
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


@node_fetcher("Order")
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


async def _cart(info: Info[Context, None]) -> Cart | None:
    user = await optional_user(info)
    ctx = info.context
    async with ctx.session() as s:
        if user is not None:
            await merge_guest_cart(ctx, s, user.id)
            cart = await cart_service.cart_for_user(s, user.id)
        else:
            found = await cart_service.guest_cart(s, guest_token(ctx))
            if found is None:
                return None
            cart = found
        lines = await cart_service.cart_lines(s, cart.id)
    return Cart.build(cart, lines)


@node_fetcher("Cart")
async def _cart_node(info: Info[Context, None], id: strawberry.ID) -> Cart | None:
    """Refetch a cart: only the viewer's own (or the guest cart its token names) is visible, as with `cart`."""
    decode_id(id, "Cart")
    cart = await _cart(info)
    return cart if cart is not None and cart.id == id else None


@strawberry.type
class CommerceQueries:
    @strawberry.field(
        description="The viewer's cart; for anonymous clients the guest cart named by the `X-Cart-Token` "
        "header, or null when there is none yet."
    )
    async def cart(self, info: Info[Context, None]) -> Cart | None:
        return await _cart(info)

    @strawberry.field(description="The viewer's orders, newest first; admins see everyone's.")
    async def orders(
        self, info: Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Connection[Order]:
        return await _orders_page(info, first, after)

    @strawberry.field(description="One order: the viewer's own (admins: anyone's); null if not found.")
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _order(info, id)
