"""The event bus: Redis pub/sub, one listener per process, bounded queues per subscriber.

Pub/sub drops what nobody hears, so events are hints: the database row is the truth. A subscriber
registers, waits until Redis has confirmed the subscription, then snapshots the row; after the
listener loses Redis and subscribes again, every subscriber gets `RESYNC` and snapshots again.

One task reads the pub/sub connection and one task writes to it (SUBSCRIBE/UNSUBSCRIBE in batches,
PING), so commands never race each other and a thousand subscribers cost one round trip, not a
thousand. The listener's client never retries by itself: redis-py's silent reconnect would re-subscribe
without telling anyone that events were lost in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final, Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from audiocity.metrics import EVENT_BUS_LAG

log = logging.getLogger(__name__)

PREFIX = "audiocity:"
# Subscribed last on every connection: its confirmation means every channel before it is live.
BUS_CHANNEL = f"{PREFIX}bus"
# Delivered to subscribers after a reconnect (and after a long quiet spell): "snapshot again".
RESYNC: Final[dict[str, Any]] = {"type": "resync"}

_MIN_DELAY = 0.1
_MAX_DELAY = 5.0


class Publishes(Protocol):
    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None: ...


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"{PREFIX}job:{job_id}"


def audiobook_jobs_channel(audiobook_id: uuid.UUID | str) -> str:
    return f"{PREFIX}audiobook-jobs:{audiobook_id}"


def order_channel(order_id: uuid.UUID | str) -> str:
    return f"{PREFIX}order:{order_id}"


SENT_AT = "_sent_at"  # wall-clock send time, for the bus-lag metric; removed before delivery


def encode(payload: dict[str, Any]) -> str:
    return json.dumps({**payload, SENT_AT: time.time()}, default=str, separators=(",", ":"))


async def publish(client: aioredis.Redis, channels: list[str], payload: dict[str, Any]) -> None:
    """Publish one payload on several channels in one round trip."""
    data = encode(payload)
    async with client.pipeline(transaction=False) as pipe:
        for channel in channels:
            pipe.publish(channel, data)
        await pipe.execute()


async def publish_reliably(
    client: aioredis.Redis, channels: list[str], payload: dict[str, Any], *, give_up_after: float
) -> bool:
    """Retry through a Redis outage for a while, then drop the event instead of failing the caller.

    The row is already committed: a dropped event costs subscribers one step, which they recover from
    the snapshot they take after the listener reconnects (or after their idle timeout).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    delay = _MIN_DELAY
    while True:
        try:
            await publish(client, channels, payload)
            return True
        except (RedisError, OSError) as exc:
            if loop.time() + delay > deadline:
                log.warning("dropping event for %s after %.0fs without Redis: %s", channels, give_up_after, exc)
                return False
            log.info("publishing to %s failed (%s); retrying in %.1fs", channels, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)


def _still_running() -> bool:
    """False once this task was asked to stop: some redis-py calls swallow a CancelledError on 3.11."""
    task = asyncio.current_task()
    return task is None or not task.cancelling()


class SubscriberTooSlow(Exception):
    """The subscriber's queue filled up: it is dropped rather than letting memory grow."""


class BusUnavailable(Exception):
    """Redis did not confirm the subscription in time (it is down or unreachable)."""


class Subscription:
    """One subscriber's bounded queue.

    On overflow the buffered events are freed at once and `on_drop` tells the transport to close:
    a client that far behind needs a fresh snapshot anyway, and its buffer must not grow. With
    `idle_after`, the bus delivers `RESYNC` when nothing arrived for that long (one sweep for all
    subscribers, not a timer each: this object is what an idle subscriber costs).
    """

    __slots__ = ("_items", "_on_drop", "_waiter", "channels", "idle_after", "maxsize", "overflowed", "quiet_since")

    def __init__(
        self,
        channels: tuple[str, ...],
        maxsize: int,
        on_drop: Callable[[Subscription], None] | None = None,
        idle_after: float | None = None,
    ) -> None:
        self.channels = channels
        self.maxsize = max(1, maxsize)
        self.overflowed = False
        self.idle_after = idle_after
        self.quiet_since = time.monotonic()
        self._items: list[dict[str, Any]] = []  # short (at most maxsize): cheaper than a deque
        self._waiter: asyncio.Future[None] | None = None
        self._on_drop = on_drop

    def __len__(self) -> int:
        return len(self._items)

    def deliver(self, payload: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if len(self._items) >= self.maxsize:
            self.overflowed = True
            self._items.clear()
            self._wake()
            log.warning("dropping a subscriber of %s: %d events behind", ", ".join(self.channels), self.maxsize)
            if self._on_drop is not None:
                try:
                    self._on_drop(self)
                except Exception:
                    log.exception("on_drop callback failed")
            return
        self._items.append(payload)
        self.quiet_since = time.monotonic()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> dict[str, Any]:
        while not self._items:
            if self.overflowed:
                raise SubscriberTooSlow(f"fell more than {self.maxsize} events behind")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.get()


class EventBus:
    """Per API process: one pub/sub connection shared by every subscriber of every channel."""

    def __init__(
        self,
        redis_url: str,
        *,
        queue_size: int = 256,
        ping_interval: float = 5.0,
        publish_give_up_after: float = 5.0,
        name: str | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.queue_size = queue_size
        self.ping_interval = ping_interval
        self.publish_give_up_after = publish_give_up_after
        self.name = name or f"audiocity-events-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        # publishing and /readyz: the ordinary client with redis-py's retries
        self.client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self._listen_client: aioredis.Redis = aioredis.Redis.from_url(
            redis_url, retry=Retry(NoBackoff(), 0), client_name=self.name
        )
        self.reconnects = 0
        self._subscribers: dict[str, set[Subscription]] = {}
        self._ready: dict[str, asyncio.Event] = {}
        # Per connection: channels SUBSCRIBEd (and not UNSUBSCRIBEd since), and commands per channel
        # not yet confirmed. Redis answers in order, so a channel is live when its count drops to 0.
        self._requested: set[str] = set()
        self._pending: dict[str, int] = {}
        self._pubsub: PubSub | None = None
        self._connected = False
        self._resync_on_bus = False
        self._bus_confirmed = False
        self._dirty = asyncio.Event()
        self._stopping = False
        self._idle_checked = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="event-bus-listener"),
            loop.create_task(self._write(), name="event-bus-writer"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        self._dirty.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks = []
        await self._listen_client.aclose()
        await self.client.aclose()

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        await publish_reliably(self.client, channels, payload, give_up_after=self.publish_give_up_after)

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        *channels: str,
        maxsize: int | None = None,
        on_drop: Callable[[Subscription], None] | None = None,
        idle_resync: float | None = None,
        confirm_within: float = 30.0,
    ) -> AsyncIterator[Subscription]:
        """Yields once Redis has confirmed every channel, so nothing published after is missed.

        `idle_resync`: deliver `RESYNC` after that many quiet seconds (checked every ping interval),
        so one lost event cannot stall a stream.
        """
        channels = tuple(dict.fromkeys(channels))
        sub = Subscription(channels, maxsize or self.queue_size, on_drop, idle_resync)
        for channel in channels:
            subs = self._subscribers.get(channel)
            if subs is None:
                subs = self._subscribers[channel] = set()
                ready = self._ready[channel] = asyncio.Event()
                if self._connected and channel in self._requested and not self._pending.get(channel):
                    ready.set()  # still subscribed from an earlier subscriber: nothing to wait for
                else:
                    self._dirty.set()
            subs.add(sub)
        try:
            try:
                async with asyncio.timeout(confirm_within):
                    for channel in channels:
                        await self._ready[channel].wait()
            except TimeoutError:
                raise BusUnavailable(f"Redis did not confirm the subscription within {confirm_within:.0f}s") from None
            yield sub
        finally:
            self._remove(sub)

    def _remove(self, sub: Subscription) -> None:
        """Synchronous, so it is safe in a cancelled generator's cleanup; the writer unsubscribes."""
        for channel in sub.channels:
            subs = self._subscribers.get(channel)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self._subscribers[channel]
                self._ready.pop(channel, None)
                self._dirty.set()

    # -- the connection ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = _MIN_DELAY
        first = True
        while not self._stopping and _still_running():
            pubsub = self._listen_client.pubsub()
            try:
                wanted = list(self._subscribers)
                await pubsub.subscribe(*wanted, BUS_CHANNEL)
                # no await from here until reading: the bookkeeping below describes this connection
                self._requested = set(wanted)
                self._pending = dict.fromkeys(wanted, 1)
                self._pubsub = pubsub
                self._connected = True
                self._resync_on_bus = not first
                self._bus_confirmed = False
                if not first:
                    log.info("event bus reconnected to Redis; %d channels re-subscribed", len(wanted))
                first = False
                delay = _MIN_DELAY
                self._dirty.set()  # channels that came or went while connecting
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("event bus lost Redis (%s); reconnecting in %.1fs", exc, delay)
            finally:
                self._connected = False
                self._pubsub = None
                self._requested = set()
                self._pending = {}
                for event in self._ready.values():
                    event.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)

    async def _read(self, pubsub: PubSub) -> None:
        """Dispatch until the connection fails; silence for three ping intervals counts as failure."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self._stopping and _still_running():
            message = await pubsub.get_message(timeout=self.ping_interval)
            if message is None:
                if loop.time() - last > 3 * self.ping_interval:
                    raise ConnectionError("Redis stopped answering pings")
                continue
            last = loop.time()
            self._dispatch(message)

    async def _write(self) -> None:
        """Bring Redis's subscriptions in line with ours, in batches; ping when idle."""
        while not self._stopping and _still_running():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ping_interval):
                    await self._dirty.wait()
            ping = not self._dirty.is_set()
            self._dirty.clear()
            self._resync_idle()
            pubsub = self._pubsub
            if not self._connected or pubsub is None:
                continue  # the listener subscribes every wanted channel when it connects
            wanted = self._subscribers.keys()
            add = [c for c in wanted if c not in self._requested]
            drop = [c for c in self._requested if c not in self._subscribers]
            try:
                if drop:
                    self._count(drop)
                    self._requested.difference_update(drop)
                    await pubsub.unsubscribe(*drop)
                if add:
                    self._count(add)
                    self._requested.update(add)
                    await pubsub.subscribe(*add)
                if ping:
                    await pubsub.ping()
            except (RedisError, OSError) as exc:
                log.debug("event bus write failed (%s); the listener will reconnect", exc)

    def _resync_idle(self) -> None:
        now = time.monotonic()
        if now - self._idle_checked < min(1.0, self.ping_interval):
            return
        self._idle_checked = now
        for subs in list(self._subscribers.values()):
            for sub in tuple(subs):
                if sub.idle_after is not None and now - sub.quiet_since >= sub.idle_after:
                    sub.deliver(RESYNC)

    def _count(self, channels: Iterable[str]) -> None:
        for channel in channels:
            self._pending[channel] = self._pending.get(channel, 0) + 1

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        raw = message.get("channel")
        channel = raw.decode() if isinstance(raw, bytes) else str(raw)
        if kind == "message":
            subs = self._subscribers.get(channel)
            if not subs:
                return
            try:
                payload = json.loads(message["data"])
            except ValueError:
                log.warning("dropping malformed event on %s", channel)
                return
            if not isinstance(payload, dict):
                log.warning("dropping non-object event on %s", channel)
                return
            sent_at = payload.pop(SENT_AT, None)
            if isinstance(sent_at, int | float):
                EVENT_BUS_LAG.observe(max(0.0, time.time() - sent_at))
            for sub in tuple(subs):
                sub.deliver(payload)
        elif kind in ("subscribe", "unsubscribe"):
            if channel == BUS_CHANNEL:
                if kind != "subscribe":
                    return
                # A second confirmation on one connection means redis-py reconnected it underneath
                # us and re-subscribed: events may have been lost in between, just as after our own.
                if self._resync_on_bus or self._bus_confirmed:
                    self._resync_on_bus = False
                    self.reconnects += 1
                    self._broadcast(RESYNC)
                self._bus_confirmed = True
                return
            left = self._pending.get(channel, 0) - 1
            if left > 0:
                self._pending[channel] = left
                return
            self._pending.pop(channel, None)
            if channel in self._requested:
                ready = self._ready.get(channel)
                if ready is not None:
                    ready.set()

    def _broadcast(self, payload: dict[str, Any]) -> None:
        seen: set[int] = set()
        for subs in list(self._subscribers.values()):
            for sub in tuple(subs):
                if id(sub) not in seen:
                    seen.add(id(sub))
                    sub.deliver(payload)


class Publisher:
    """Publishing only (workers, CLI): no listener; survives a Redis restart instead of failing the job.

    It waits out a short outage (a restart) and then drops the event rather than stall the pipeline:
    subscribers read the row again when their listener reconnects, or after their idle timeout.
    """

    def __init__(self, client: aioredis.Redis, *, give_up_after: float = 10.0) -> None:
        self.client = client
        self.give_up_after = give_up_after

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        await publish_reliably(self.client, channels, payload, give_up_after=self.give_up_after)
