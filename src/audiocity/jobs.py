"""Send work to Dramatiq actors by name, so services never import `workers/`."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

QUEUE = "default"
TRANSCRIBE_AUDIOBOOK = "transcribe_audiobook"

_lock = threading.Lock()
_brokers: dict[str, RedisBroker] = {}


def make_broker(redis_url: str) -> RedisBroker:
    """The one broker configuration both the API (sending) and the workers (consuming) use.

    One broker per URL per process, so `serve` with its in-process worker shares one.
    """
    with _lock:
        broker = _brokers.get(redis_url)
        if broker is None:
            broker = RedisBroker(url=redis_url, namespace="audiocity")  # type: ignore[no-untyped-call]
            broker.add_middleware(AsyncIO())
            _brokers[redis_url] = broker
        dramatiq.set_broker(broker)
        return broker


def enqueue(actor_name: str, *args: Any, delay_ms: int | None = None, **options: Any) -> dramatiq.Message[Any]:
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=QUEUE, actor_name=actor_name, args=args, kwargs={}, options=options
    )
    return dramatiq.get_broker().enqueue(message, delay=delay_ms or None)


def has_broker() -> bool:
    """Whether this process set up a broker (scripts and unit tests may not have one)."""
    import dramatiq.broker

    return dramatiq.broker.global_broker is not None
