"""Cart and TEST checkout over real HTTP: guest carts and their merge, price changes, races, privacy."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.db import session_scope
from audiocity.graphql.relay import decode_id, to_global_id
from audiocity.models import Audiobook, Cart, Order, User
from audiocity.services import accounts, catalog, entitlements
from audiocity.services.accounts import TokenConfig
from audiocity.services.cart import hash_guest_token
from audiocity.services.catalog import AudiobookInput
from tests.commerce.conftest import client_for, new_books, new_user
from tests.e2e.server import Server
from tests.factories import unique_email

CART_FIELDS = """cart { id isGuest totalQuantity subtotal { amountCents currency }
  lines { audiobook { id } price { amountCents } priceWhenAdded { amountCents } priceChanged available } }"""
ADD = f"""mutation($id: ID!) {{ addToCart(audiobookId: $id) {{
  {CART_FIELDS} guestToken errors {{ code field message }} }} }}"""
REMOVE = f"""mutation($id: ID!) {{ removeFromCart(audiobookId: $id) {{ {CART_FIELDS} errors {{ code }} }} }}"""
CART = f"""{{ {CART_FIELDS} }}"""
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken errors { code } } }"""
REGISTER = """mutation($email: String!) { register(input: {email: $email, password: "correct horse battery"}) {
  accessToken errors { code } } }"""
CHECKOUT = """mutation($key: String!) { checkout(input: {provider: TEST, idempotencyKey: $key}) {
  order { id status total { amountCents currency } priceChanged
          lines { title price { amountCents } priceInCart { amountCents } priceChanged } }
  payment { provider redirectUrl } priceChanged notices errors { code field message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status } }"""
ORDERS = """{ orders(first: 10) { totalCount edges { node { id } } } }"""

PASSWORD = "correct horse battery"


def gid(book: Audiobook) -> str:
    return str(to_global_id("Audiobook", book.id))


async def gql(
    http: httpx.AsyncClient,
    shop: Server,
    query: str,
    *,
    token: str | None = None,
    cart: str | None = None,
    **variables: Any,
) -> dict[str, Any]:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cart:
        headers["X-Cart-Token"] = cart
    response = await http.post(shop.graphql_url, json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_guest_cart_lives_on_a_token_and_merges_at_sign_in(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owned, fresh, duplicate, withdrawn = await new_books(sessions, 500, 600, 700, 800)
    async with session_scope(sessions) as s:
        signed = await accounts.register(s, unique_email(), PASSWORD, "Reader", TokenConfig("x" * 32, 60, 60))
        user = signed.user
        await entitlements.grant(s, user.id, [owned.id], None)
    member = client_for(shop, http, user)
    await member(ADD.replace("guestToken", ""), id=gid(duplicate))

    # anonymous: no cart until the first add, which hands out the token
    assert (await gql(http, shop, CART))["data"]["cart"] is None
    first = (await gql(http, shop, ADD, id=gid(owned)))["data"]["addToCart"]
    token = first["guestToken"]
    assert first["errors"] == [] and token and first["cart"]["isGuest"]
    for book in (fresh, duplicate, withdrawn):
        added = (await gql(http, shop, ADD, cart=token, id=gid(book)))["data"]["addToCart"]
        assert added["errors"] == [] and added["guestToken"] is None
    again = (await gql(http, shop, ADD, cart=token, id=gid(fresh)))["data"]["addToCart"]
    assert again["errors"][0]["code"] == "ALREADY_IN_CART"
    guest = (await gql(http, shop, CART, cart=token))["data"]["cart"]
    assert [line["audiobook"]["id"] for line in guest["lines"]] == [
        gid(b) for b in (owned, fresh, duplicate, withdrawn)
    ]
    assert guest["id"] == first["cart"]["id"]
    # only the hash is stored
    async with sessions() as s:
        stored = (
            await s.execute(select(Cart).where(col(Cart.guest_token_hash) == hash_guest_token(token)))
        ).scalar_one()
        assert stored.user_id is None and token not in (stored.guest_token_hash or "")
    # a made-up token names no cart and never becomes one
    assert (await gql(http, shop, CART, cart="made-up"))["data"]["cart"] is None
    made_up = (await gql(http, shop, ADD, cart="made-up", id=gid(fresh)))["data"]["addToCart"]
    assert made_up["guestToken"] not in (None, "made-up")

    async with session_scope(sessions) as s:
        await catalog.publish_audiobook(s, withdrawn.id, False)

    login = (await gql(http, shop, LOGIN, cart=token, email=user.email, password=PASSWORD))["data"]["login"]
    assert login["errors"] == []

    mine = (await gql(http, shop, CART, token=login["accessToken"]))["data"]["cart"]
    assert not mine["isGuest"]
    assert [line["audiobook"]["id"] for line in mine["lines"]] == [gid(duplicate), gid(fresh)]
    assert (await gql(http, shop, CART, cart=token))["data"]["cart"] is None, "the guest cart is gone"
    # a second sign-in with the same token changes nothing
    await gql(http, shop, LOGIN, cart=token, email=user.email, password=PASSWORD)
    assert (await member(CART))["cart"]["totalQuantity"] == 2


async def test_register_with_a_guest_cart_keeps_it(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [book] = await new_books(sessions, 999)
    token = (await gql(http, shop, ADD, id=gid(book)))["data"]["addToCart"]["guestToken"]

    email = unique_email()
    assert (await gql(http, shop, REGISTER, email=email))["data"]["register"]["errors"] == []
    registered = (await gql(http, shop, LOGIN, cart=token, email=email, password=PASSWORD))["data"]["login"]

    assert registered["errors"] == []
    mine = (await gql(http, shop, CART, token=registered["accessToken"]))["data"]["cart"]
    assert [line["audiobook"]["id"] for line in mine["lines"]] == [gid(book)]
    removed = (await gql(http, shop, REMOVE, token=registered["accessToken"], id=gid(book)))["data"]["removeFromCart"]
    assert removed["cart"]["totalQuantity"] == 0


async def test_anonymous_clients_must_sign_in_to_check_out(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [book] = await new_books(sessions, 100)
    token = (await gql(http, shop, ADD, id=gid(book)))["data"]["addToCart"]["guestToken"]

    refused = await gql(http, shop, CHECKOUT, cart=token, key="anon")

    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql(http, shop, ORDERS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_price_change_after_add_to_cart_is_charged_and_announced(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_user(sessions)
    steady, rising = await new_books(sessions, 700, 1000)
    client = client_for(shop, http, user)
    for book in (steady, rising):
        await client(ADD, id=gid(book))
    async with session_scope(sessions) as s:
        await catalog.update_audiobook(s, rising.id, AudiobookInput(price_cents=1250))

    lines = {line["audiobook"]["id"]: line for line in (await client(CART))["cart"]["lines"]}
    assert lines[gid(rising)]["price"] == {"amountCents": 1250}
    assert lines[gid(rising)]["priceWhenAdded"] == {"amountCents": 1000}
    assert lines[gid(rising)]["priceChanged"] is True
    assert lines[gid(steady)]["priceChanged"] is False

    result = (await client(CHECKOUT, key="price-change"))["checkout"]

    assert result["errors"] == []
    assert result["order"]["total"] == {"amountCents": 1950, "currency": "USD"}
    assert result["priceChanged"] is True and result["order"]["priceChanged"] is True
    [notice] = result["notices"]
    assert "10.00 USD" in notice and "12.50 USD" in notice and rising.title in notice
    by_title = {line["title"]: line for line in result["order"]["lines"]}
    assert by_title[rising.title] == {
        "title": rising.title,
        "price": {"amountCents": 1250},
        "priceInCart": {"amountCents": 1000},
        "priceChanged": True,
    }
    assert by_title[steady.title]["priceChanged"] is False
    # the replay with the same key tells the same story
    replay = (await client(CHECKOUT, key="price-change"))["checkout"]
    assert replay["order"]["id"] == result["order"]["id"] and replay["priceChanged"] is True


async def count_orders(sessions: async_sessionmaker[AsyncSession], user: User) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Order).where(col(Order.user_id) == user.id)) or 0)


async def test_fifty_concurrent_checkouts_of_one_cart_make_one_order(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_user(sessions)
    books = await new_books(sessions, 300, 400)
    client = client_for(shop, http, user)
    for book in books:
        await client(ADD, id=gid(book))

    results = await asyncio.gather(*(client(CHECKOUT, key=f"race-{n}") for n in range(50)))

    placed = [r["checkout"]["order"] for r in results if r["checkout"]["order"]]
    refused = [r["checkout"]["errors"][0]["code"] for r in results if not r["checkout"]["order"]]
    assert len(placed) == 1 and placed[0]["status"] == "PAID"
    assert placed[0]["total"]["amountCents"] == 700
    assert refused == ["EMPTY_CART"] * 49
    assert await count_orders(sessions, user) == 1
    async with sessions() as s:
        assert await entitlements.owned_book_ids(s, user.id, [b.id for b in books]) == {b.id for b in books}

    # and 20 concurrent calls with one key (a double-clicking client) all get that one order
    await client(ADD, id=gid((await new_books(sessions, 50))[0]))
    same = await asyncio.gather(*(client(CHECKOUT, key="double-click") for _ in range(20)))
    assert len({r["checkout"]["order"]["id"] for r in same}) == 1
    assert await count_orders(sessions, user) == 2


async def test_orders_are_private(
    shop: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, stranger = await new_user(sessions), await new_user(sessions)
    [book] = await new_books(sessions, 100)
    mine = client_for(shop, http, owner)
    await mine(ADD, id=gid(book))
    order_id = (await mine(CHECKOUT, key=str(uuid.uuid4())))["checkout"]["order"]["id"]

    theirs = client_for(shop, http, stranger)
    assert (await theirs(ORDER, id=order_id))["order"] is None
    assert (await theirs(ORDERS))["orders"]["totalCount"] == 0
    assert (await mine(ORDER, id=order_id))["order"]["status"] == "PAID"
    assert decode_id(order_id, "Order")
