"""The built-in TEST provider: every payment succeeds at once and refunds need no one. Never for production."""

from __future__ import annotations

from audiocity.payments.base import PaymentProvider, PaymentRequest, PaymentSession, RefundRequest, RefundResult


class TestGateway:
    __test__ = False  # not a pytest test class
    provider = PaymentProvider.TEST

    async def create_payment(self, request: PaymentRequest) -> PaymentSession:
        return PaymentSession(
            provider_reference=f"test_{request.order_id.hex}",
            paid=True,
            payment_reference=f"test_pay_{request.order_id.hex}",
        )

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(reference=f"test_refund_{request.order_id.hex}")
