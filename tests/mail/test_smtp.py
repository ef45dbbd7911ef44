"""SMTP delivery: the mailer against a real SMTP server, and a receipt after a real checkout."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.graphql.relay import to_global_id
from audiocity.mail import Email, PermanentMailError, SmtpMailer, TransientMailError
from audiocity.models import Role
from tests.accounts.conftest import body, client_for
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, free_port, run_server
from tests.factories import make_published_book, make_user, unique
from tests.mail.smtp_server import SmtpServer
from tests.mail.tls import make_certificates

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

ADD = """mutation($id: ID!) { addToCart(audiobookId: $id) { errors { code message } } }"""
CHECKOUT = """mutation($key: String!) { checkout(input: {provider: TEST, idempotencyKey: $key}) {
  order { id status } errors { code message } } }"""
REFUND = """mutation($id: ID!) { refundOrder(orderId: $id) { order { status } errors { code message } } }"""
MESSAGE = Email(to=("reader@example.com",), subject="Hello", text="plain body", html="<p>html body</p>")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, smtp: SmtpServer
) -> Iterator[Server]:
    env = {
        "SMTP_URL": smtp.url,
        "MAIL_FROM": "Shop <shop@audiocity.test>",
        "LIBRARY_URL": "https://shop.example/library",
    }
    with run_server(tmp_path_factory.mktemp("mail-app"), database_url, redis_url, **env) as running:
        yield running


async def received(smtp: SmtpServer, address: str, subject_part: str, wait_seconds: float = 60) -> EmailMessage:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        for message in smtp.inbox.to(address):
            if subject_part in str(message["Subject"]):
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing about {subject_part!r} reached {address}")


async def test_the_mailer_sends_text_and_html_with_authentication(smtp: SmtpServer) -> None:
    await SmtpMailer(smtp.url, "Shop <shop@audiocity.test>").send(MESSAGE)

    message = smtp.inbox.to("reader@example.com")[-1]
    assert message["From"] == "Shop <shop@audiocity.test>"
    assert body(message, "plain").strip() == "plain body"
    assert body(message, "html").strip() == "<p>html body</p>"


async def test_smtp_failures_are_sorted_into_transient_and_permanent(smtp: SmtpServer) -> None:
    mailer = SmtpMailer(smtp.url, "shop@audiocity.test")
    smtp.inbox.refuse.append("451 Try again later")
    with pytest.raises(TransientMailError):
        await mailer.send(MESSAGE)
    smtp.inbox.refuse.append("554 Message rejected")
    with pytest.raises(PermanentMailError):
        await mailer.send(MESSAGE)
    with pytest.raises(TransientMailError):  # nobody listening
        await SmtpMailer(f"smtp://127.0.0.1:{free_port()}", "shop@audiocity.test", timeout=5).send(MESSAGE)


async def test_starttls_and_implicit_tls(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    with SmtpServer(starttls=certificates.server) as server:
        url = server.url.replace("smtp://", "smtp+starttls://")
        await SmtpMailer(url, "shop@audiocity.test", tls_context=certificates.client).send(MESSAGE)
        assert len(server.inbox.to("reader@example.com")) == 1
        with pytest.raises(TransientMailError):  # a certificate nobody vouches for is refused
            await SmtpMailer(url, "shop@audiocity.test", timeout=5).send(MESSAGE)
    with SmtpServer(implicit_tls=certificates.server) as server:
        url = server.url.replace("smtp://", "smtps://")
        await SmtpMailer(url, "shop@audiocity.test", tls_context=certificates.client).send(MESSAGE)
        assert len(server.inbox.to("reader@example.com")) == 1


async def test_a_checkout_sends_a_receipt_and_a_refund_sends_a_notice(
    shop: Server, smtp: SmtpServer, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessions) as session:
        customer = await make_user(session)
        admin = await make_user(session, Role.ADMIN)
        books = [await make_published_book(session, title=unique("Receipt Book"), price_cents=p) for p in (1299, 550)]
    gql = client_for(shop, http, customer)
    for book in books:
        assert (await gql(ADD, id=to_global_id("Audiobook", book.id)))["addToCart"]["errors"] == []
    smtp.inbox.refuse.append("451 Greylisted, try again")  # the first delivery attempt fails: the actor retries

    checkout = (await gql(CHECKOUT, key=str(uuid.uuid4())))["checkout"]

    assert checkout["errors"] == [] and checkout["order"]["status"] == "PAID"
    receipt = await received(smtp, customer.email, "receipt")
    for part in (body(receipt, "plain"), body(receipt, "html")):
        for book in books:
            assert book.title in part
        assert "12.99" in part and "5.50" in part and "18.49" in part
        assert "https://shop.example/library" in part
    assert smtp.inbox.attempts >= 2  # the greylisted attempt, then the retry that got through

    refund = (
        await GraphQLClient(http, shop.graphql_url, client_for(shop, http, admin).token)(
            REFUND, id=checkout["order"]["id"]
        )
    )["refundOrder"]
    assert refund["errors"] == [] and refund["order"]["status"] == "REFUNDED"
    notice = await received(smtp, customer.email, "refunded")
    assert books[0].title in body(notice, "plain") and "18.49" in body(notice, "plain")
