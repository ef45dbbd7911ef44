"""Stand-ins that record what services send out, for tests that call services directly."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from audiocity import tasks

QUEUE_KEY = f"audiocity:{tasks.QUEUE}"  # RedisBroker keeps message ids in the list "<namespace>:<queue>"


class RecordingPublisher:
    """A `Publishes` that remembers what would have gone out over Redis pub/sub."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        self.calls.append((channels, payload))


def queued_messages(broker: RedisBroker) -> list[dramatiq.Message[Any]]:
    """The messages waiting on the queue, read the way the Redis broker stores them."""
    messages = []
    for message_id in broker.client.lrange(QUEUE_KEY, 0, -1):
        data = broker.client.hget(f"{QUEUE_KEY}.msgs", message_id)
        assert isinstance(data, bytes), f"message {message_id!r} has no body"
        messages.append(dramatiq.Message.decode(data))
    return messages
