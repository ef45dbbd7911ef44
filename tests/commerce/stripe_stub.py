"""A Stripe API stub on loopback, so tests drive the real `stripe` SDK over HTTP.

It speaks the wire protocol the SDK uses: form-encoded POSTs with bracketed keys
(`metadata[order_id]=...`), `Authorization: Bearer sk_...`, `Idempotency-Key` (a repeated key
replays the first answer, as Stripe does), JSON objects back, and Stripe's error envelope.
Only the two endpoints AudioCity calls exist: Checkout Sessions and Refunds.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.threaded_server import ThreadedServer


@dataclass
class StripeRequest:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class _State:
    requests: list[StripeRequest] = field(default_factory=list)
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)
    latency: float = 0.0
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    kind = "card_error" if status == 402 else "api_error" if status >= 500 else "invalid_request_error"
    return status, {"error": {"type": kind, "message": message}}


def _session(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    if not form.get("success_url") or form.get("mode") != "payment":
        return _error(400, "Missing required param: success_url.")
    total, i = 0, 0
    while f"line_items[{i}][price_data][unit_amount]" in form:
        total += int(form[f"line_items[{i}][price_data][unit_amount]"]) * int(
            form.get(f"line_items[{i}][quantity]", "1")
        )
        i += 1
    session_id = f"cs_test_{uuid.uuid4().hex}"
    return 200, {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": total,
        "currency": form.get("line_items[0][price_data][currency]"),
        "client_reference_id": form.get("client_reference_id"),
        "customer_email": form.get("customer_email"),
        "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
        "expires_at": int(form.get("expires_at", time.time() + 86400)),
        "payment_intent": None,
        "url": f"https://checkout.stripe.test/c/pay/{session_id}",
    }


def _refund(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    if not form.get("payment_intent") and not form.get("charge"):
        return _error(400, "One of `charge` or `payment_intent` is required.")
    return 200, {
        "id": f"re_{uuid.uuid4().hex[:24]}",
        "object": "refund",
        "status": "succeeded",
        "payment_intent": form.get("payment_intent"),
        "amount": int(form["amount"]) if "amount" in form else None,
        "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
    }


class StripeStub:
    def __init__(self) -> None:
        self._state = _State()
        self._http = ThreadedServer(_app(self._state), "stripe-stub")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    @property
    def requests(self) -> list[StripeRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def requests_to(self, path: str) -> list[StripeRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def latency(self) -> float:
        """Seconds every POST waits before it is answered (a slow Stripe)."""
        return self._state.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._state.latency = value

    @property
    def in_flight(self) -> int:
        """Requests received and not answered yet."""
        with self._state.lock:
            return self._state.in_flight

    def fail_next(self, status: int, message: str = "Injected failure.") -> None:
        """The next POST answers with this Stripe error (not replayed under its idempotency key)."""
        with self._state.lock:
            self._state.failures.append((status, message))

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> StripeStub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _app(state: _State) -> Starlette:
    def endpoint(make: Callable[[dict[str, str]], tuple[int, dict[str, Any]]]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            if not request.headers.get("authorization", "").startswith("Bearer sk_"):
                return JSONResponse(_error(401, "Invalid API Key provided.")[1], status_code=401)
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            key = request.headers.get("idempotency-key")
            with state.lock:
                state.requests.append(StripeRequest("POST", request.url.path, form, dict(request.headers)))
                if state.failures:
                    status, body = _error(*state.failures.pop(0))
                elif key and key in state.replies:
                    status, body = state.replies[key]
                else:
                    status, body = make(form)
                    if key:
                        state.replies[key] = (status, body)
                state.in_flight += 1
            try:
                if state.latency:
                    await asyncio.sleep(state.latency)
            finally:
                with state.lock:
                    state.in_flight -= 1
            headers = {"Request-Id": f"req_{uuid.uuid4().hex[:14]}", "Stripe-Should-Retry": "false"}
            return JSONResponse(body, status_code=status, headers=headers)

        return handle

    return Starlette(
        routes=[
            Route("/v1/checkout/sessions", endpoint(_session), methods=["POST"]),
            Route("/v1/refunds", endpoint(_refund), methods=["POST"]),
        ]
    )
