"""payments.stripe.StripeGateway: the real SDK against the loopback stub, and webhook verification."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from audiocity.config import Settings
from audiocity.models import PaymentProvider, utcnow
from audiocity.payments import (
    EventKind,
    InvalidWebhook,
    PaymentError,
    PaymentRequest,
    RefundRequest,
    builtin_test_provider_enabled,
    get_gateways,
    stripe_enabled,
)
from audiocity.payments.base import LineItem
from audiocity.payments.stripe import MIN_SESSION_SECONDS, StripeGateway
from tests.commerce import stripe_events as se
from tests.commerce.stripe_stub import StripeStub


@pytest.fixture
def gateway(stripe_stub: StripeStub) -> StripeGateway:
    return StripeGateway(
        se.API_KEY,
        se.WEBHOOK_SECRET,
        api_base=stripe_stub.base_url,
        success_url="https://shop.example/done?order={ORDER_ID}&session={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
    )


def request(**changes: object) -> PaymentRequest:
    values: dict[str, object] = {
        "order_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "customer_email": "buyer@example.com",
        "currency": "EUR",
        "total_cents": 1500,
        "lines": [LineItem("One", 1000), LineItem("Two", 500)],
        "expires_at": utcnow() + timedelta(hours=2),
    }
    values.update(changes)
    return PaymentRequest(**values)  # type: ignore[arg-type]


async def test_create_payment_sends_a_checkout_session(gateway: StripeGateway, stripe_stub: StripeStub) -> None:
    req = request()

    session = await gateway.create_payment(req)

    [sent] = [
        r
        for r in stripe_stub.requests_to("/v1/checkout/sessions")
        if r.form.get("client_reference_id") == str(req.order_id)
    ]
    assert session.provider_reference.startswith("cs_test_") and not session.paid
    assert session.redirect_url == f"https://checkout.stripe.test/c/pay/{session.provider_reference}"
    assert sent.form["metadata[order_id]"] == str(req.order_id)
    assert sent.form["payment_intent_data[metadata][order_id]"] == str(req.order_id)
    assert sent.form["line_items[0][price_data][currency]"] == "eur"
    assert sent.form["line_items[0][price_data][product_data][name]"] == "One"
    assert sent.form["line_items[1][price_data][unit_amount]"] == "500"
    assert sent.form["success_url"] == f"https://shop.example/done?order={req.order_id}&session={{CHECKOUT_SESSION_ID}}"
    assert abs(int(sent.form["expires_at"]) - (time.time() + 7200)) < 60
    # Stripe refuses lifetimes under 30 minutes: a short deadline is stretched to the minimum
    short = request(expires_at=utcnow() + timedelta(seconds=5))
    await gateway.create_payment(short)
    [sent] = [
        r
        for r in stripe_stub.requests_to("/v1/checkout/sessions")
        if r.form.get("client_reference_id") == str(short.order_id)
    ]
    assert int(sent.form["expires_at"]) >= time.time() + MIN_SESSION_SECONDS - 60


async def test_the_same_order_gets_the_same_session(gateway: StripeGateway) -> None:
    req = request()
    assert (await gateway.create_payment(req)) == (await gateway.create_payment(req))


async def test_stripe_errors_become_payment_errors(gateway: StripeGateway, stripe_stub: StripeStub) -> None:
    stripe_stub.fail_next(402, "Your card was declined.")
    with pytest.raises(PaymentError, match="declined"):
        await gateway.create_payment(request())
    stripe_stub.fail_next(500)
    with pytest.raises(PaymentError):
        await gateway.refund(RefundRequest(uuid.uuid4(), "pi_123", 100, "USD"))
    with pytest.raises(PaymentError):
        await gateway.refund(RefundRequest(uuid.uuid4(), None, 100, "USD"))


async def test_refund(gateway: StripeGateway, stripe_stub: StripeStub) -> None:
    order_id = uuid.uuid4()
    result = await gateway.refund(RefundRequest(order_id, "pi_abc", 1500, "EUR"))
    [sent] = [r for r in stripe_stub.requests_to("/v1/refunds") if r.form.get("metadata[order_id]") == str(order_id)]
    assert result.reference.startswith("re_")
    assert sent.form["payment_intent"] == "pi_abc"
    assert sent.headers["idempotency-key"] == f"audiocity-refund-{order_id}"


def test_webhook_signatures(gateway: StripeGateway) -> None:
    order_id = uuid.uuid4()
    body = se.event(
        "checkout.session.completed", se.checkout_session(order_id, "cs_1", amount_total=1500, currency="eur")
    )

    event = gateway.parse_webhook(body.encode(), se.sign(body))

    assert event.kind is EventKind.PAID and event.order_id == order_id
    assert (event.provider, event.provider_reference, event.amount_cents, event.currency) == (
        PaymentProvider.STRIPE, "cs_1", 1500, "EUR",
    )  # fmt: skip
    now = int(time.time())
    for header in (
        se.sign(body, secret="whsec_other"),
        se.sign(body, timestamp=now - 301),
        se.sign(body + " "),
        "",
        "t=abc,v1=def",
        f"t={now}",
    ):
        with pytest.raises(InvalidWebhook):
            gateway.parse_webhook(body.encode(), header)
    # several signatures (during secret rotation) are fine if one matches
    rotated = f"{se.sign(body)},v1={'0' * 64}"
    assert gateway.parse_webhook(body.encode(), rotated).kind is EventKind.PAID


@pytest.mark.parametrize(
    ("event_type", "obj", "kind"),
    [
        ("checkout.session.completed", {"payment_status": "unpaid"}, EventKind.IGNORED),
        ("checkout.session.completed", {"payment_status": "no_payment_required"}, EventKind.PAID),
        ("checkout.session.async_payment_succeeded", {"payment_status": "paid"}, EventKind.PAID),
        ("checkout.session.async_payment_failed", {}, EventKind.FAILED),
        ("checkout.session.expired", {}, EventKind.EXPIRED),
        (
            "charge.refunded",
            {"object": "charge", "amount": 100, "amount_refunded": 100, "refunded": True},
            EventKind.REFUNDED,
        ),
        (
            "charge.refunded",
            {"object": "charge", "amount": 100, "amount_refunded": 40, "refunded": False},
            EventKind.REFUND,
        ),
        ("refund.created", {"object": "refund", "status": "succeeded", "amount": 100}, EventKind.REFUND),
        ("refund.updated", {"object": "refund", "status": "pending", "amount": 100}, EventKind.IGNORED),
        ("customer.created", {"object": "customer"}, EventKind.IGNORED),
    ],
)
def test_event_kinds(gateway: StripeGateway, event_type: str, obj: dict[str, object], kind: EventKind) -> None:
    body = se.event(event_type, {"id": "obj_1", "payment_intent": {"id": "pi_9"}, **obj})
    event = gateway.parse_webhook(body.encode(), se.sign(body))
    assert event.kind is kind and event.event_type == event_type


def test_providers_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):  # the all-embedded defaults, whatever servers the suite uses
        monkeypatch.delenv(name, raising=False)
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not stripe_enabled(plain) and builtin_test_provider_enabled(plain)
    assert set(get_gateways(plain)) == {PaymentProvider.TEST}
    half = Settings(_env_file=None, STRIPE_API_KEY="sk_test_x")  # type: ignore[call-arg]
    assert set(get_gateways(half)) == {PaymentProvider.TEST}, "both the key and the webhook secret are needed"
    live = Settings(_env_file=None, STRIPE_API_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")  # type: ignore[call-arg]
    assert set(get_gateways(live)) == {PaymentProvider.STRIPE}, "no free TEST payments next to real ones"
    both = Settings(  # type: ignore[call-arg]
        _env_file=None, STRIPE_API_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x", TEST_PAYMENTS_ENABLED=True
    )
    assert set(get_gateways(both)) == {PaymentProvider.TEST, PaymentProvider.STRIPE}
