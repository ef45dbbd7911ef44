"""The Dramatiq broker: one configuration shared by the API (sending) and the workers (consuming)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from audiocity.message_context import MessageContext
from audiocity.tasks import QUEUE

__all__ = ["NAMESPACE", "QUEUE", "make_broker"]

NAMESPACE = "audiocity"


def make_broker(redis_url: str) -> RedisBroker:
    """A broker on `redis_url`, made the process's current one (actors bind to it when declared).

    The composition roots (the app's lifespan, `audiocity worker`, `serve`'s in-process worker) each
    call this once and keep the broker in their container; there is no per-process cache.
    """
    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    broker.add_middleware(MessageContext())  # request id and trace context into jobs
    dramatiq.set_broker(broker)
    return broker
