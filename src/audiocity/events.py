"""The event bus: Redis pub/sub, one listener per process, bounded queues per subscriber.

Pub/sub drops what nobody hears, so events are hints: the database row is the truth, subscribers
snapshot it after subscribing, and `RESYNC` tells them to snapshot again after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RESYNC: dict[str, Any] = {"type": "resync"}
PREFIX = "audiocity:"


class Publishes(Protocol):
    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None: ...


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"{PREFIX}job:{job_id}"


def audiobook_jobs_channel(audiobook_id: uuid.UUID | str) -> str:
    return f"{PREFIX}audiobook-jobs:{audiobook_id}"


def order_channel(order_id: uuid.UUID | str) -> str:
    return f"{PREFIX}order:{order_id}"


async def publish(client: aioredis.Redis, channels: list[str], payload: dict[str, Any]) -> None:
    data = json.dumps(payload, default=str)
    for channel in channels:
        await client.publish(channel, data)


class SubscriberTooSlow(Exception):
    """The subscriber's queue filled up: it is dropped rather than letting memory grow."""


class Subscription:
    def __init__(self, bus: EventBus, channels: tuple[str, ...], maxsize: int) -> None:
        self.bus = bus
        self.channels = channels
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.overflowed = False

    def deliver(self, payload: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.overflowed = True

    async def get(self) -> dict[str, Any]:
        if self.overflowed:
            raise SubscriberTooSlow("subscriber fell too far behind")
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.get()


class EventBus:
    def __init__(self, redis_url: str, *, queue_size: int = 256) -> None:
        self.redis_url = redis_url
        self.queue_size = queue_size
        self.client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self._subscribers: dict[str, set[Subscription]] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-bus-listener")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        await publish(self.client, channels, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        """Yields once Redis has confirmed the subscription, so nothing published after is missed."""
        sub = Subscription(self, channels, self.queue_size)
        new = [c for c in channels if c not in self._subscribers]
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(sub)
        try:
            if new:
                await asyncio.wait_for(self._connected.wait(), 10)
                for channel in new:
                    self._ready[channel] = asyncio.Event()
                await self._pubsub.subscribe(*new)
            await asyncio.wait_for(asyncio.gather(*(self._ready[c].wait() for c in channels if c in self._ready)), 10)
            yield sub
        finally:
            gone = []
            for channel in channels:
                subs = self._subscribers.get(channel)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subscribers[channel]
                        self._ready.pop(channel, None)
                        gone.append(channel)
            if gone and self._pubsub is not None:
                with contextlib.suppress(RedisError, ConnectionError):
                    await self._pubsub.unsubscribe(*gone)

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                self._pubsub = self.client.pubsub()
                # a placeholder channel keeps the connection in subscribe mode even with no subscribers
                await self._pubsub.subscribe(f"{PREFIX}bus")
                channels = list(self._subscribers)
                for channel in channels:
                    self._ready.setdefault(channel, asyncio.Event())
                if channels:
                    await self._pubsub.subscribe(*channels)
                self._connected.set()
                resync = delay > 0.1
                delay = 0.1
                async for message in self._pubsub.listen():
                    self._dispatch(message)
                    if resync and message["type"] == "subscribe":
                        resync = False
                        self._broadcast_resync()
            except asyncio.CancelledError:
                raise
            except (RedisError, ConnectionError, OSError) as exc:
                log.warning("event bus lost Redis (%s); reconnecting in %.1fs", exc, delay)
            self._connected.clear()
            for event in self._ready.values():
                event.clear()
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _broadcast_resync(self) -> None:
        seen: set[int] = set()
        for subs in self._subscribers.values():
            for sub in subs:
                if id(sub) not in seen:
                    seen.add(id(sub))
                    sub.deliver(RESYNC)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if message["type"] == "subscribe":
            event = self._ready.get(channel)
            if event is not None:
                event.set()
            return
        if message["type"] != "message":
            return
        try:
            payload = json.loads(message["data"])
        except ValueError:
            log.warning("dropping malformed event on %s", channel)
            return
        for sub in list(self._subscribers.get(channel, ())):
            sub.deliver(payload)


class Publisher:
    """Publishing only (workers, CLI): no listener, no subscriptions."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        await publish(self.client, channels, payload)
