"""Broker set-up for worker processes and for the in-process worker of `audiocity serve`."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from audiocity.broker import make_broker
from audiocity.config import Settings
from audiocity.runtime import redis_url
from workers.metrics import WorkerMetrics
from workers.resources import ResourcesMiddleware


def setup_broker(settings: Settings) -> RedisBroker:
    """Create the broker, then declare the actors on it (actors bind to the current broker).

    A killed worker's unacknowledged messages go back to the queue when another worker's broker call
    finds that worker's heartbeat older than `DRAMATIQ_HEARTBEAT_TIMEOUT_MS`; it looks on a random
    `DRAMATIQ_MAINTENANCE_CHANCE` per million calls (Dramatiq's default, 0.1%, can leave a job
    waiting for many minutes after a crash).
    """
    broker = make_broker(redis_url(settings))
    broker.heartbeat_timeout = settings.dramatiq_heartbeat_timeout_ms
    broker.maintenance_chance = settings.dramatiq_maintenance_chance
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(WorkerMetrics())
    broker.add_middleware(ResourcesMiddleware(settings))  # after AsyncIO: built on its loop
    import workers.actors  # noqa: F401  (declares the actors)
    from workers.uploads import start_upload_cleanup  # declares the upload sweeper

    start_upload_cleanup(broker)  # starts (or joins) its periodic chain

    return broker


def start_worker(broker: RedisBroker, threads: int) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=1000)
    worker.start()
    return worker
