"""Stripe Checkout through the official SDK: hosted checkout sessions, refunds and signed webhooks.

Fulfilment never trusts the redirect back from Stripe: only a verified webhook marks an order paid.
`STRIPE_API_BASE` points the SDK at another server speaking Stripe's API (a stub in tests).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import stripe

from audiocity.payments.base import (
    EventKind,
    InvalidWebhook,
    PaymentError,
    PaymentEvent,
    PaymentProvider,
    PaymentRequest,
    PaymentSession,
    RefundRequest,
    RefundResult,
)

log = logging.getLogger(__name__)

# Stripe accepts a session lifetime between 30 minutes and 24 hours.
MIN_SESSION_SECONDS = 30 * 60 + 60
MAX_SESSION_SECONDS = 24 * 3600 - 60
# Stripe's own default; older signatures are replays.
WEBHOOK_TOLERANCE_SECONDS = 300

_CHECKOUT_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}


class StripeGateway:
    provider = PaymentProvider.STRIPE

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        success_url: str,
        cancel_url: str,
        max_network_retries: int = 2,
        timeout_seconds: float = 20,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.success_url = success_url
        self.cancel_url = cancel_url
        # The SDK retries connection errors, 409s and 5xx itself, with the idempotency key we pass.
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=stripe.HTTPXClient(timeout=timeout_seconds),
            max_network_retries=max_network_retries,
        )

    async def create_payment(self, request: PaymentRequest) -> PaymentSession:
        order = str(request.order_id)
        lifetime = min(max(request.expires_at.timestamp() - time.time(), MIN_SESSION_SECONDS), MAX_SESSION_SECONDS)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": line.amount_cents,
                        "product_data": {"name": line.title[:250]},
                    },
                }
                for line in request.lines
            ],
            "client_reference_id": order,
            "metadata": {"order_id": order},
            "payment_intent_data": {"metadata": {"order_id": order}},
            "success_url": self.success_url.replace("{ORDER_ID}", order),
            "cancel_url": self.cancel_url.replace("{ORDER_ID}", order),
            "expires_at": int(time.time() + lifetime),
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"audiocity-checkout-{order}"},
            )
        except stripe.StripeError as exc:
            log.warning("Stripe refused a checkout session for order %s: %s", order, exc)
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc
        if not session.url:
            raise PaymentError("Stripe returned a checkout session without a URL.")
        return PaymentSession(provider_reference=session.id, redirect_url=session.url)

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.payment_reference:
            raise PaymentError("The order has no Stripe payment to refund.")
        order = str(request.order_id)
        try:
            refund = await self.client.v1.refunds.create_async(
                {"payment_intent": request.payment_reference, "metadata": {"order_id": order}},
                {"idempotency_key": f"audiocity-refund-{order}"},
            )
        except stripe.StripeError as exc:
            log.warning("Stripe refused a refund for order %s: %s", order, exc)
            raise PaymentError(f"Stripe: {exc.user_message or exc}") from exc
        if refund.status in ("failed", "canceled"):
            raise PaymentError(f"Stripe could not refund the payment ({refund.status}).")
        return RefundResult(reference=refund.id)

    def parse_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        """Verify the `Stripe-Signature` header over the raw body, then reduce the event to what we use."""
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret, WEBHOOK_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook(str(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not an event
            raise InvalidWebhook(f"Malformed event: {exc}") from exc
        data = event.to_dict()
        event_id, event_type = data.get("id"), data.get("type")
        obj = (data.get("data") or {}).get("object")
        if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
            raise InvalidWebhook("The event has no id, type or object.")
        return _reduce(event_id, event_type, obj)


def _reduce(event_id: str, event_type: str, obj: dict[str, Any]) -> PaymentEvent:
    def event(kind: EventKind, **fields: Any) -> PaymentEvent:
        return PaymentEvent(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            event_type=event_type,
            kind=kind,
            order_id=_order_id(obj),
            **fields,
        )

    if event_type in _CHECKOUT_EVENTS:
        if event_type == "checkout.session.completed":
            # delayed methods (bank debits) complete unpaid and settle with async_payment_succeeded
            paid = obj.get("payment_status") in ("paid", "no_payment_required")
            kind = EventKind.PAID if paid else EventKind.IGNORED
        else:
            kind = {
                "checkout.session.async_payment_succeeded": EventKind.PAID,
                "checkout.session.async_payment_failed": EventKind.FAILED,
                "checkout.session.expired": EventKind.EXPIRED,
            }[event_type]
        return event(
            kind,
            provider_reference=_str(obj.get("id")),
            payment_reference=_ref(obj.get("payment_intent")),
            amount_cents=_int(obj.get("amount_total")),
            currency=_currency(obj.get("currency")),
        )
    if event_type == "charge.refunded":
        full = bool(obj.get("refunded")) or (
            _int(obj.get("amount_refunded")) is not None and obj.get("amount_refunded") == obj.get("amount")
        )
        return event(
            EventKind.REFUNDED if full else EventKind.REFUND,
            payment_reference=_ref(obj.get("payment_intent")),
            amount_cents=_int(obj.get("amount_refunded")),
            currency=_currency(obj.get("currency")),
        )
    if event_type.startswith(("refund.", "charge.refund.")) and obj.get("object") == "refund":
        if obj.get("status") != "succeeded":
            return event(EventKind.IGNORED, payment_reference=_ref(obj.get("payment_intent")))
        return event(
            EventKind.REFUND,  # the order decides: a refund of its whole total refunds it
            payment_reference=_ref(obj.get("payment_intent")),
            amount_cents=_int(obj.get("amount")),
            currency=_currency(obj.get("currency")),
        )
    return event(EventKind.IGNORED)


def _order_id(obj: dict[str, Any]) -> uuid.UUID | None:
    metadata = obj.get("metadata") or {}
    raw = metadata.get("order_id") if isinstance(metadata, dict) else None
    raw = raw or obj.get("client_reference_id")
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ref(value: Any) -> str | None:
    """An expandable field: an id string, or the expanded object with its `id`."""
    if isinstance(value, dict):
        return _str(value.get("id"))
    return _str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _currency(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value else None
