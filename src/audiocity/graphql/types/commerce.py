"""Cart, orders and payments as clients see them."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from audiocity import models
from audiocity.graphql.context import Context
from audiocity.graphql.relay import Node, to_global_id
from audiocity.graphql.types.audiobook import Audiobook
from audiocity.graphql.types.common import Money, OrderStatus, PaymentProvider
from audiocity.services.cart import CartLine as CartLineModel


def _money(cents: int | None, currency: str | None) -> Money | None:
    return Money(amount_cents=cents, currency=currency) if cents is not None and currency else None


@strawberry.type(description="One audiobook in a cart.")
class CartLine:
    audiobook: Audiobook = strawberry.field(description="The audiobook.")
    price: Money = strawberry.field(description="Today's catalog price; checkout charges this.")
    price_when_added: Money | None = strawberry.field(description="The price when the book was added to the cart.")
    price_changed: bool = strawberry.field(description="The price changed since the book was added.")
    available: bool = strawberry.field(description="Still for sale; unavailable lines are left out of checkout.")
    added_at: datetime = strawberry.field(description="When it was added.")


@strawberry.type(
    description="Digital goods: each audiobook at most once, no quantities. Anonymous clients get a guest "
    "cart named by the `X-Cart-Token` request header (the token comes back as `guestToken` on the first add)."
)
class Cart(Node):
    lines: list[CartLine] = strawberry.field(description="Audiobooks in the cart, oldest first.")
    subtotal: list[Money] = strawberry.field(description="One amount per currency, over the lines for sale.")
    total_quantity: int = strawberry.field(description="Number of lines.")
    is_guest: bool = strawberry.field(description="A guest cart; it merges into the user's cart on sign-in.")

    @classmethod
    def build(cls, cart: models.Cart, lines: list[CartLineModel]) -> Cart:
        totals: dict[str, int] = {}
        for line in lines:
            if line.book.published:
                totals[line.book.currency] = totals.get(line.book.currency, 0) + line.book.price_cents
        return cls(
            id=to_global_id("Cart", cart.id),
            lines=[
                CartLine(
                    audiobook=Audiobook.from_model(line.book),
                    price=Money(amount_cents=line.book.price_cents, currency=line.book.currency),
                    price_when_added=_money(line.item.added_price_cents, line.item.added_currency),
                    price_changed=line.item.added_price_cents is not None
                    and (line.item.added_price_cents, line.item.added_currency)
                    != (line.book.price_cents, line.book.currency),
                    available=line.book.published,
                    added_at=line.item.added_at,
                )
                for line in lines
            ],
            subtotal=[Money(amount_cents=v, currency=k) for k, v in sorted(totals.items())],
            total_quantity=len(lines),
            is_guest=cart.user_id is None,
        )


@strawberry.type(description="A line as it was at checkout: later catalog changes do not alter it.")
class OrderLine:
    audiobook_db_id: strawberry.Private[uuid.UUID]
    title: str = strawberry.field(description="The title at checkout.")
    price: Money = strawberry.field(description="What was charged: the catalog price at checkout.")
    price_in_cart: Money | None = strawberry.field(description="The price shown when the book was added to the cart.")
    price_changed: bool = strawberry.field(description="The catalog price changed between add-to-cart and checkout.")

    @strawberry.field(description="The audiobook; null once it is deleted.")
    async def audiobook(self, info: Info[Context, None]) -> Audiobook | None:
        loaders = await info.context.loaders()
        book = await loaders.audiobooks.load(self.audiobook_db_id)
        return Audiobook.from_model(book) if book else None

    @classmethod
    def build(cls, line: models.OrderLine) -> OrderLine:
        return cls(
            audiobook_db_id=line.audiobook_id,
            title=line.title,
            price=Money(amount_cents=line.price_cents, currency=line.currency),
            price_in_cart=_money(line.cart_price_cents, line.cart_currency),
            price_changed=line.price_changed,
        )


@strawberry.type(description="What the client does next to pay; the TEST provider needs nothing.")
class Payment:
    provider: PaymentProvider = strawberry.field(description="Who takes the money.")  # type: ignore[valid-type]
    redirect_url: str | None = strawberry.field(description="Send the buyer here (Stripe Checkout).")
    client_secret: str | None = strawberry.field(description="For embedded payment forms; null when unused.")


@strawberry.type(description="A purchase: the cart as it was at checkout, and its payment state.")
class Order(Node):
    db_id: strawberry.Private[uuid.UUID]
    status: OrderStatus = strawberry.field(description="Where the order is in its life.")  # type: ignore[valid-type]
    provider: PaymentProvider = strawberry.field(description="Who takes the money.")  # type: ignore[valid-type]
    total: Money = strawberry.field(description="What is charged for all lines.")
    lines: list[OrderLine] = strawberry.field(description="The audiobooks bought.")
    price_changed: bool = strawberry.field(description="Some price changed between add-to-cart and checkout.")
    payment: Payment | None = strawberry.field(description="How to pay, while the order is pending.")
    created_at: datetime = strawberry.field(description="When the order was placed.")
    paid_at: datetime | None = strawberry.field(description="When the payment arrived.")
    expires_at: datetime | None = strawberry.field(description="A pending order is cancelled if unpaid by then.")
    refunded_at: datetime | None = strawberry.field(description="When it was refunded.")
    updated_at: datetime | None = strawberry.field(description="When its status last changed.")

    @classmethod
    def build(cls, order: models.Order, lines: list[models.OrderLine]) -> Order:
        pending = order.status is models.OrderStatus.PENDING
        return cls(
            id=to_global_id("Order", order.id),
            db_id=order.id,
            status=order.status,
            provider=order.provider,
            total=Money(amount_cents=order.total_cents, currency=order.currency),
            lines=[OrderLine.build(line) for line in lines],
            price_changed=any(line.price_changed for line in lines),
            payment=Payment(provider=order.provider, redirect_url=order.redirect_url, client_secret=None)
            if pending
            else None,
            created_at=order.created_at,
            paid_at=order.paid_at,
            expires_at=order.expires_at if pending else None,
            refunded_at=order.refunded_at,
            updated_at=order.updated_at,
        )
