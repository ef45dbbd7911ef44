"""Payment providers behind one small protocol, chosen once from settings.

TEST (paid at once) is on by default only while Stripe is not configured, so a production store
with Stripe keys never hands out free books; `TEST_PAYMENTS_ENABLED` overrides that either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from audiocity.config import Settings
from audiocity.payments.base import (
    EventKind,
    InvalidWebhook,
    PaymentError,
    PaymentEvent,
    PaymentGateway,
    PaymentProvider,
    PaymentRequest,
    PaymentSession,
    RefundRequest,
    RefundResult,
)
from audiocity.payments.test import TestGateway

if TYPE_CHECKING:
    from audiocity.payments.stripe import StripeGateway

__all__ = [
    "EventKind",
    "Gateways",
    "InvalidWebhook",
    "PaymentError",
    "PaymentEvent",
    "PaymentGateway",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentSession",
    "RefundRequest",
    "RefundResult",
    "TestGateway",
    "builtin_test_provider_enabled",
    "get_gateways",
    "stripe_enabled",
]

Gateways = Mapping[PaymentProvider, PaymentGateway]


def stripe_enabled(settings: Settings) -> bool:
    return bool(settings.stripe_api_key and settings.stripe_webhook_secret)


def builtin_test_provider_enabled(settings: Settings) -> bool:
    """Free TEST payments fail closed: on when asked for, or in the all-embedded default outside production."""
    if settings.test_payments_enabled is not None:
        return settings.test_payments_enabled
    embedded = settings.database_url is None and not settings.production
    return embedded and not stripe_enabled(settings)


def get_gateways(settings: Settings) -> dict[PaymentProvider, PaymentGateway]:
    """The enabled providers; the container calls this once (the Stripe client keeps a connection pool)."""
    gateways: dict[PaymentProvider, PaymentGateway] = {}
    if builtin_test_provider_enabled(settings):
        gateways[PaymentProvider.TEST] = TestGateway()
    if stripe_enabled(settings):
        gateways[PaymentProvider.STRIPE] = stripe_gateway(settings)
    return gateways


def stripe_gateway(settings: Settings) -> StripeGateway:
    """Imported on demand: the SDK is large and only needed when Stripe is configured."""
    from audiocity.payments.stripe import StripeGateway

    assert settings.stripe_api_key and settings.stripe_webhook_secret
    base = settings.base_url
    return StripeGateway(
        settings.stripe_api_key,
        settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
        success_url=settings.checkout_success_url or f"{base}/?checkout=success&order={{ORDER_ID}}",
        cancel_url=settings.checkout_cancel_url or f"{base}/?checkout=cancelled&order={{ORDER_ID}}",
    )
