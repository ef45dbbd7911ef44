"""Cart, checkout and refunds.

Anonymous clients shop with a guest cart: the first `addToCart` without a (known) `X-Cart-Token`
header returns `guestToken`; the client sends it back as `X-Cart-Token` on later requests. A
signed-in request that carries the header (sign-in itself, or any cart operation) merges that
guest cart into the user's cart.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, throttled, user_error
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import optional_user, require_admin, require_user
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.commerce import Cart, Order, Payment
from audiocity.graphql.types.common import PaymentProvider
from audiocity.models import PaymentProvider as PaymentProviderModel
from audiocity.ratelimit import RateLimited
from audiocity.services import cart as cart_service
from audiocity.services import checkout as checkout_service
from audiocity.services import orders
from audiocity.services.errors import ErrorCode, ServiceError

CART_TOKEN_HEADER = "x-cart-token"
MAX_IDEMPOTENCY_KEY = 200


def guest_token(ctx: Context) -> str | None:
    token = ctx.request.headers.get(CART_TOKEN_HEADER)
    return (token.strip() or None) if token else None


async def merge_guest_cart(ctx: Context, session: AsyncSession, user_id: uuid.UUID) -> None:
    """Fold the request's guest cart (if any) into the user's cart; a sign-in calls this too."""
    token = guest_token(ctx)
    if token:
        await cart_service.merge_guest_cart(session, user_id, token)


@strawberry.type
class CartPayload:
    cart: Cart | None = None
    guest_token: str | None = strawberry.field(
        default=None,
        description="Set when this call started a guest cart: send it as the `X-Cart-Token` header from now on.",
    )
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
    price_changed: bool = strawberry.field(
        default=False, description="A price changed since the book was added to the cart; the order uses the new one."
    )
    notices: list[str] = strawberry.field(default_factory=list, description="What the buyer should be told.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundOrderPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _format(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency}"


async def _cart(info: Info[Context, None], action: str, audiobook_id: strawberry.ID | None) -> CartPayload:
    user = await optional_user(info)
    ctx = info.context
    token = guest_token(ctx) or ctx.new_guest_token  # aliased calls in one request share one guest cart
    if user is None and token is None and action == "add":
        try:
            await ctx.throttle(
                "guest-cart", (ctx.settings.rate_limit_guest_cart_per_client, f"client:{ctx.client_address()}")
            )
        except RateLimited as exc:
            return CartPayload(errors=[throttled(exc)])

    async def work(s: AsyncSession) -> CartPayload:
        new_token: str | None = None
        book_id = input_id(audiobook_id, "Audiobook", "audiobookId") if audiobook_id is not None else None
        if user is not None:
            await merge_guest_cart(ctx, s, user.id)
            if action == "add":
                assert book_id is not None
                cart = await cart_service.add_to_cart(s, user.id, book_id)
            elif action == "remove":
                assert book_id is not None
                cart = await cart_service.remove_from_cart(s, user.id, book_id)
            else:
                cart = await cart_service.clear_cart(s, user.id)
        elif action == "add":
            assert book_id is not None
            guest = await cart_service.add_to_guest_cart(s, token, book_id)
            cart, new_token = guest.cart, guest.new_token
            ctx.new_guest_token = ctx.new_guest_token or new_token
        else:
            found = (
                await cart_service.remove_from_guest_cart(s, token, book_id)
                if action == "remove" and book_id is not None
                else await cart_service.clear_guest_cart(s, token)
            )
            if found is None:
                return CartPayload()
            cart = found
        lines = await cart_service.cart_lines(s, cart.id)
        return CartPayload(cart=Cart.build(cart, lines), guest_token=new_token)

    return await run(ctx, CartPayload, work)


@strawberry.type
class CommerceMutations:
    @strawberry.mutation(description="Add an audiobook to the viewer's cart (a guest cart when anonymous).")
    async def add_to_cart(self, info: Info[Context, None], audiobook_id: strawberry.ID) -> CartPayload:
        return await _cart(info, "add", audiobook_id)

    @strawberry.mutation
    async def remove_from_cart(self, info: Info[Context, None], audiobook_id: strawberry.ID) -> CartPayload:
        return await _cart(info, "remove", audiobook_id)

    @strawberry.mutation
    async def clear_cart(self, info: Info[Context, None]) -> CartPayload:
        return await _cart(info, "clear", None)

    @strawberry.mutation(
        description="Turn the cart into an order at current catalog prices (sign-in required). With TEST the "
        "order is paid at once; with STRIPE follow `payment.redirectUrl`, the order is paid when Stripe confirms."
    )
    async def checkout(self, info: Info[Context, None], input: CheckoutInput) -> CheckoutPayload:
        user = await require_user(info)
        ctx = info.context
        try:
            await ctx.throttle(
                "checkout",
                (ctx.settings.rate_limit_checkout_per_account, f"account:{user.id}"),
                (ctx.settings.rate_limit_checkout_per_client, f"client:{ctx.client_address()}"),
            )
        except RateLimited as exc:
            return CheckoutPayload(errors=[throttled(exc)])
        if len(input.idempotency_key) > MAX_IDEMPOTENCY_KEY:
            too_long = UserError(code=ErrorCode.TOO_LONG, field="idempotencyKey", message="Idempotency key too long.")
            return CheckoutPayload(errors=[too_long])
        try:
            if guest_token(ctx):
                async with ctx.session() as s:
                    await merge_guest_cart(ctx, s, user.id)
            # Not one unit of work: the order is committed before Stripe is called (services/checkout.py).
            # The request's read connection goes back first, so a checkout never holds two connections.
            await ctx.release_reads()
            order = await checkout_service.checkout(
                ctx.resources.sessions,
                ctx.resources.events,
                user_id=user.id,
                provider=PaymentProviderModel(input.provider),
                idempotency_key=input.idempotency_key,
                gateways=ctx.resources.gateways,
                customer_email=user.email,
                pending_ttl=timedelta(seconds=ctx.settings.order_pending_ttl_seconds),
            )
            async with ctx.resources.sessions() as s:
                lines = (await orders.lines_for_orders(s, [order.id]))[order.id]
        except ServiceError as exc:
            return CheckoutPayload(errors=[user_error(exc)])
        notices = [
            f"The price of “{line.title}” changed from {_format(line.cart_price_cents, line.cart_currency)} "
            f"to {_format(line.price_cents, line.currency)} since you added it to your cart."
            for line in lines
            if line.price_changed and line.cart_price_cents is not None and line.cart_currency
        ]
        built = Order.build(order, lines)
        return CheckoutPayload(
            order=built,
            payment=Payment(provider=order.provider, redirect_url=order.redirect_url, client_secret=None),
            price_changed=built.price_changed,
            notices=notices,
        )

    @strawberry.mutation(description="Refund a paid order in full through its provider and revoke the books (admin).")
    async def refund_order(self, info: Info[Context, None], order_id: strawberry.ID) -> RefundOrderPayload:
        await require_admin(info)
        ctx = info.context

        async def work(s: AsyncSession) -> RefundOrderPayload:
            oid = input_id(order_id, "Order", "orderId")
            order = await orders.refund_order(s, ctx.resources.events, oid, gateways=ctx.resources.gateways)
            lines = (await orders.lines_for_orders(s, [order.id]))[order.id]
            return RefundOrderPayload(order=Order.build(order, lines))

        return await run(ctx, RefundOrderPayload, work)
