"""The worker's container, built once on boot on the AsyncIO loop every async actor runs on.

An engine's connections belong to the loop that opened them, so the container is made on that loop
(`dramatiq.asyncio`'s event-loop thread), right after the AsyncIO middleware has started it and
before any worker thread takes a message. Actors reach it through the broker they run on: there is
no module-level cache.
"""

from __future__ import annotations

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from audiocity.config import Settings
from audiocity.resources import WorkerResources, build_worker_resources

Resources = WorkerResources  # what actors are handed


class ResourcesMiddleware(Middleware):
    """Builds the worker's `WorkerResources` after boot and disposes of it at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources: WorkerResources | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Runs after AsyncIO's own `before_worker_boot` (it was added first) and before the threads start."""
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("the AsyncIO middleware must come before ResourcesMiddleware")

        async def build() -> WorkerResources:
            return build_worker_resources(self.settings, broker)

        self.resources = loop.run_coroutine(build())

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        res, self.resources = self.resources, None
        loop = get_event_loop_thread()
        if res is None or loop is None:
            return
        loop.run_coroutine(res.engine.dispose())


def current() -> WorkerResources:
    """The running worker's container (actors call this; it exists once the worker has booted)."""
    for middleware in dramatiq.get_broker().middleware:
        if isinstance(middleware, ResourcesMiddleware) and middleware.resources is not None:
            return middleware.resources
    raise RuntimeError("this process runs no worker: its resources were never built")
