"""Cart and checkout."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, user_error
from audiocity.graphql.permissions import require_user
from audiocity.graphql.relay import decode_id
from audiocity.graphql.types.commerce import Cart, Order, Payment
from audiocity.graphql.types.common import PaymentProvider
from audiocity.models import PaymentProvider as PaymentProviderModel
from audiocity.services import cart as cart_service
from audiocity.services import orders
from audiocity.services.errors import ServiceError


@strawberry.type
class CartPayload:
    cart: Cart | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CheckoutInput:
    provider: PaymentProvider = PaymentProviderModel.TEST  # type: ignore[valid-type]
    idempotency_key: str = strawberry.field(
        description="Any unique string per purchase attempt; repeating it returns the same order."
    )


@strawberry.type
class CheckoutPayload:
    order: Order | None = None
    payment: Payment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _cart(info: Info[Context, None], action: str, audiobook_id: strawberry.ID | None) -> CartPayload:
    user = await require_user(info)
    try:
        async with info.context.session() as s:
            if action == "add":
                assert audiobook_id is not None
                cart = await cart_service.add_to_cart(s, user.id, decode_id(audiobook_id, "Audiobook"))
            elif action == "remove":
                assert audiobook_id is not None
                cart = await cart_service.remove_from_cart(s, user.id, decode_id(audiobook_id, "Audiobook"))
            else:
                cart = await cart_service.clear_cart(s, user.id)
            books = await cart_service.cart_books(s, cart.id)
    except ServiceError as exc:
        return CartPayload(errors=[user_error(exc)])
    return CartPayload(cart=Cart.build(cart, books))


@strawberry.type
class CommerceMutations:
    @strawberry.mutation
    async def add_to_cart(self, info: Info[Context, None], audiobook_id: strawberry.ID) -> CartPayload:
        return await _cart(info, "add", audiobook_id)

    @strawberry.mutation
    async def remove_from_cart(self, info: Info[Context, None], audiobook_id: strawberry.ID) -> CartPayload:
        return await _cart(info, "remove", audiobook_id)

    @strawberry.mutation
    async def clear_cart(self, info: Info[Context, None]) -> CartPayload:
        return await _cart(info, "clear", None)

    @strawberry.mutation(description="Turn the cart into an order at current catalog prices.")
    async def checkout(self, info: Info[Context, None], input: CheckoutInput) -> CheckoutPayload:
        user = await require_user(info)
        res = info.context.resources
        try:
            async with info.context.session() as s:
                order = await orders.checkout(
                    s, res.events, user_id=user.id, provider=PaymentProviderModel(input.provider),
                    idempotency_key=input.idempotency_key,
                )  # fmt: skip
                lines = await orders.lines_for_orders(s, [order.id])
        except ServiceError as exc:
            return CheckoutPayload(errors=[user_error(exc)])
        return CheckoutPayload(
            order=Order.build(order, lines[order.id]),
            payment=Payment(provider=order.provider, redirect_url=None, client_secret=None),
        )
