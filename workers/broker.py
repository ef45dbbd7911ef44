"""Broker set-up for worker processes and for the in-process worker of `audiocity serve`."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from audiocity.config import Settings
from audiocity.jobs import make_broker
from audiocity.runtime import redis_url


def setup_broker(settings: Settings) -> RedisBroker:
    """Create the broker, then declare the actors on it (actors bind to the current broker)."""
    broker = make_broker(redis_url(settings))
    broker.add_middleware(CurrentMessage())
    import workers.actors  # noqa: F401  (declares the actors)

    return broker


def start_worker(broker: RedisBroker, threads: int) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=1000)
    worker.start()
    return worker
