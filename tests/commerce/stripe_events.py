"""Stripe webhook events built and signed the way Stripe does it, independently of the SDK.

Stripe sends `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

WEBHOOK_SECRET = "whsec_test_audiocity_0123456789abcdef"
API_KEY = "sk_test_audiocity_0123456789"


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={signature}"


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> str:
    """The raw JSON body of an event, as Stripe posts it."""
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": obj},
        }
    )


def checkout_session(
    order_id: uuid.UUID | str,
    session_id: str,
    *,
    amount_total: int,
    currency: str = "usd",
    payment_status: str = "paid",
    payment_intent: str | None = None,
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete" if payment_status == "paid" else "open",
        "payment_status": payment_status,
        "amount_total": amount_total,
        "currency": currency,
        "client_reference_id": str(order_id),
        "metadata": {"order_id": str(order_id)},
        "payment_intent": payment_intent or f"pi_{uuid.uuid4().hex[:24]}",
    }


def charge_refunded(
    payment_intent: str, amount: int, *, refunded: int | None = None, currency: str = "usd"
) -> dict[str, Any]:
    amount_refunded = amount if refunded is None else refunded
    return {
        "id": f"ch_{uuid.uuid4().hex[:24]}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "refunded": amount_refunded >= amount,
        "payment_intent": payment_intent,
        "metadata": {},
    }
