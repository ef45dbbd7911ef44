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


@strawberry.type
class CartLine:
    audiobook: Audiobook
    price: Money = strawberry.field(description="Today's catalog price; checkout charges this.")


@strawberry.type(description="Digital goods: each audiobook at most once, no quantities.")
class Cart(Node):
    lines: list[CartLine]
    subtotal: list[Money] = strawberry.field(description="One amount per currency in the cart.")
    total_quantity: int

    @classmethod
    def build(cls, cart: models.Cart, books: list[models.Audiobook]) -> Cart:
        totals: dict[str, int] = {}
        for b in books:
            totals[b.currency] = totals.get(b.currency, 0) + b.price_cents
        return cls(
            id=to_global_id("Cart", cart.id),
            lines=[
                CartLine(
                    audiobook=Audiobook.from_model(b),
                    price=Money(amount_cents=b.price_cents, currency=b.currency),
                )
                for b in books
            ],
            subtotal=[Money(amount_cents=v, currency=k) for k, v in sorted(totals.items())],
            total_quantity=len(books),
        )


@strawberry.type(description="A line as it was at checkout: later catalog changes do not alter it.")
class OrderLine:
    audiobook_db_id: strawberry.Private[uuid.UUID]
    title: str
    price: Money

    @strawberry.field
    async def audiobook(self, info: Info[Context, None]) -> Audiobook | None:
        loaders = await info.context.loaders()
        book = await loaders.audiobooks.load(self.audiobook_db_id)
        return Audiobook.from_model(book) if book else None


@strawberry.type
class Order(Node):
    db_id: strawberry.Private[uuid.UUID]
    status: OrderStatus  # type: ignore[valid-type]
    provider: PaymentProvider  # type: ignore[valid-type]
    total: Money
    lines: list[OrderLine]
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def build(cls, order: models.Order, lines: list[models.OrderLine]) -> Order:
        return cls(
            id=to_global_id("Order", order.id),
            db_id=order.id,
            status=order.status,
            provider=order.provider,
            total=Money(amount_cents=order.total_cents, currency=order.currency),
            lines=[
                OrderLine(
                    audiobook_db_id=line.audiobook_id,
                    title=line.title,
                    price=Money(amount_cents=line.price_cents, currency=line.currency),
                )
                for line in lines
            ],
            created_at=order.created_at,
            paid_at=order.paid_at,
        )


@strawberry.type(description="What the client does next to pay; the TEST provider needs nothing.")
class Payment:
    provider: PaymentProvider  # type: ignore[valid-type]
    redirect_url: str | None
    client_secret: str | None
