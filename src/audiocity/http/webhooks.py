"""POST /webhooks/stripe: verified, de-duplicated payment events that fulfil and refund orders.

The signature is checked over the raw body before anything is parsed; each event is applied in one
transaction that records its id, so Stripe's redeliveries (and concurrent copies) change nothing.
Responses: 200 applied/duplicate/ignored, 400 bad signature, stale timestamp or malformed body,
404 unknown order or Stripe not configured, 413 oversized body. Stripe retries non-2xx responses.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from audiocity import payments
from audiocity.db import session_scope
from audiocity.http.container import NotReady, resources
from audiocity.payments import PaymentProvider
from audiocity.services import orders
from audiocity.services.errors import NotFound, ServiceError

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The raw bytes as sent (the signature covers exactly them), or None past the size cap."""
    declared = request.headers.get("content-length") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def stripe_webhook(request: Request) -> Response:
    try:
        res = resources(request)
    except NotReady:
        return _error(503, "Starting up.")
    gateway = res.gateways.get(PaymentProvider.STRIPE)
    if gateway is None:
        return _error(404, "Stripe is not configured.")
    from audiocity.payments.stripe import StripeGateway

    if not isinstance(gateway, StripeGateway):
        return _error(404, "Stripe is not configured.")
    body = await _read_body(request)
    if body is None:
        return _error(413, "Body too large.")
    try:
        event = gateway.parse_webhook(body, request.headers.get("stripe-signature"))
    except payments.InvalidWebhook as exc:
        log.warning("refused a Stripe webhook: %s", exc)
        return _error(400, "Invalid signature or payload.")
    try:
        async with session_scope(res.sessions) as session:
            outcome = await orders.apply_payment_event(session, res.events, event)
    except NotFound:
        log.warning("Stripe event %s (%s) names no order of ours", event.event_id, event.event_type)
        return _error(404, "Unknown order.")
    except ServiceError as exc:
        return _error(400, exc.message)
    log.info("Stripe event %s (%s): %s", event.event_id, event.event_type, outcome)
    return JSONResponse({"received": True, "outcome": outcome})


def webhook_routes() -> list[Route]:
    return [Route("/webhooks/stripe", stripe_webhook, methods=["POST"])]
