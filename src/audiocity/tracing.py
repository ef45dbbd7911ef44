"""OpenTelemetry traces, exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

Off (the default), nothing is imported or installed: no middleware, no per-resolver extension, no
instrumentation, no carrier in messages. On, the API gets Starlette's middleware and Strawberry's
extension, asyncpg and redis calls become spans, and a Dramatiq message carries the sender's trace
context (W3C `traceparent`) so a job's spans join the request that queued it. The exporter reads
the standard `OTEL_*` variables (endpoint, headers, `OTEL_SERVICE_NAME`, batch delays).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)
_lock = threading.Lock()
_provider: Any = None


def configured() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enabled() -> bool:
    return _provider is not None


def setup_tracing(service_name: str) -> bool:
    """Install the exporter and the asyncpg/redis instrumentations once per process; False when off."""
    global _provider
    if not configured():
        return False
    with _lock:
        if _provider is not None:
            return True
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
            from opentelemetry.instrumentation.redis import RedisInstrumentor
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            log.warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the 'tracing' extra is not installed "
                "(`uv sync --extra tracing`): traces are off"
            )
            return False
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
        RedisInstrumentor().instrument()
        _provider = provider
        log.info("exporting traces over OTLP as %s", name)
        return True


def instrument_app(app: Any) -> None:
    """Starlette's middleware: a server span per request and per WebSocket."""
    if enabled():
        from opentelemetry.instrumentation.starlette import StarletteInstrumentor

        StarletteInstrumentor.instrument_app(app)


def flush(timeout_ms: int = 5_000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def inject() -> dict[str, str] | None:
    """The current trace context as a carrier for a message, or None when tracing is off."""
    if not enabled():
        return None
    from opentelemetry.propagate import inject as otel_inject

    carrier: dict[str, str] = {}
    otel_inject(carrier)
    return carrier or None


@contextmanager
def consumer_span(name: str, carrier: dict[str, str] | None, **attributes: str) -> Iterator[None]:
    """A span for processing one message, a child of the span that sent it; current in this context."""
    if not enabled():
        yield
        return
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    tracer = trace.get_tracer("audiocity.workers")
    with tracer.start_as_current_span(
        name, context=extract(carrier or {}), kind=trace.SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, for log lines; None when tracing is off."""
    if not enabled():
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
