"""The event bus on a real Redis: confirmed subscriptions, fan-out, bounded queues, reconnects."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from audiocity.embedded import EmbeddedRedis, start_redis
from audiocity.events import BUS_CHANNEL, RESYNC, BusUnavailable, EventBus, Publisher, SubscriberTooSlow, Subscription


def channel() -> str:
    return f"audiocity:test:{uuid.uuid4().hex}"


async def eventually(check: Any, what: str) -> None:
    """Poll `check` for up to ten seconds: the writer task applies changes asynchronously."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {what}")


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[EventBus]:
    events = EventBus(redis_url, ping_interval=0.5)
    await events.start()
    yield events
    await events.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def numsub(client: aioredis.Redis, name: str) -> int:
    counts = await client.pubsub_numsub(name)
    return int(counts[0][1])


async def test_an_event_published_right_after_subscribing_is_delivered(bus: EventBus) -> None:
    name = channel()
    async with bus.subscribe(name) as sub:
        await bus.publish([name], {"n": 1})
        assert await asyncio.wait_for(sub.get(), 5) == {"n": 1}


async def test_every_subscriber_gets_every_event_in_order(bus: EventBus, redis: aioredis.Redis) -> None:
    a, b = channel(), channel()
    async with bus.subscribe(a) as first, bus.subscribe(a, b) as second, bus.subscribe(b) as third:
        for n in range(20):
            await bus.publish([a, b], {"n": n})
        for sub, copies in ((first, 1), (second, 2), (third, 1)):
            got = [(await asyncio.wait_for(sub.get(), 5))["n"] for _ in range(20 * copies)]
            assert got == sorted(got), "events keep their publish order"
            assert sorted(set(got)) == list(range(20))
        assert await numsub(redis, a) == 1, "one Redis subscription per channel, however many subscribers"


async def test_channels_are_unsubscribed_when_the_last_subscriber_leaves(bus: EventBus, redis: aioredis.Redis) -> None:
    name = channel()
    async with bus.subscribe(name):
        async with bus.subscribe(name):
            pass
        assert await numsub(redis, name) == 1
    await eventually(lambda: _is(numsub(redis, name), 0), "unsubscribed")
    async with bus.subscribe(name) as again:  # and subscribing again works
        await bus.publish([name], {"n": 2})
        assert await asyncio.wait_for(again.get(), 5) == {"n": 2}


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_a_subscriber_that_falls_behind_is_dropped_and_its_buffer_freed(bus: EventBus) -> None:
    name = channel()
    dropped: list[Subscription] = []
    async with bus.subscribe(name, maxsize=3, on_drop=dropped.append) as slow, bus.subscribe(name) as fine:
        for n in range(10):
            await bus.publish([name], {"n": n})
        got = [(await asyncio.wait_for(fine.get(), 5))["n"] for _ in range(10)]
        assert got == list(range(10)), "a slow neighbour does not hold anyone back"
        assert dropped == [slow]
        assert slow.overflowed and len(slow) == 0
        with pytest.raises(SubscriberTooSlow):
            await slow.get()


async def test_a_quiet_subscription_asks_for_a_snapshot_after_the_idle_time(bus: EventBus) -> None:
    name = channel()
    async with bus.subscribe(name, idle_resync=0.2) as quiet, bus.subscribe(name) as patient:
        assert await asyncio.wait_for(quiet.get(), 5) is RESYNC
        await bus.publish([name], {"n": 1})
        assert await asyncio.wait_for(quiet.get(), 5) == {"n": 1}
        assert await asyncio.wait_for(patient.get(), 5) == {"n": 1}, "no idle resync unless asked"


async def test_a_dropped_listener_connection_reconnects_and_asks_for_a_snapshot(
    bus: EventBus, redis: aioredis.Redis
) -> None:
    name = channel()
    async with bus.subscribe(name) as sub:
        clients = await redis.client_list(_type="pubsub")
        ours = [c for c in clients if c.get("name") == bus.name]
        assert len(ours) == 1
        killed = await redis.client_kill_filter(_id=ours[0]["id"])
        assert killed == 1
        assert await asyncio.wait_for(sub.get(), 10) is RESYNC
        assert bus.reconnects == 1
        await bus.publish([name], {"n": 1})
        assert await asyncio.wait_for(sub.get(), 5) == {"n": 1}


def kill(server: EmbeddedRedis) -> None:
    """SIGKILL, as a crash would; the stale socket file goes too, so the restart need not probe it."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server.socket.unlink(missing_ok=True)


async def test_redis_restart_publisher_waits_and_listener_resyncs(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    bus = EventBus(server.url, ping_interval=0.5)
    publisher = Publisher(aioredis.Redis.from_url(server.url), give_up_after=30)
    await bus.start()
    name = channel()
    try:
        async with bus.subscribe(name) as sub:
            kill(server)
            sending = asyncio.create_task(publisher.publish([name], {"n": 1}))
            await asyncio.sleep(0.5)
            assert not sending.done(), "the publisher waits for Redis instead of failing"
            server = await asyncio.to_thread(start_redis, tmp_path)
            await asyncio.wait_for(sending, 30)
            # Whether {"n": 1} reached the listener depends on who reconnected first (pub/sub keeps
            # nothing), so the subscriber is told to read the row again: RESYNC comes first.
            assert await asyncio.wait_for(sub.get(), 20) is RESYNC
            await publisher.publish([name], {"n": 2})
            later = [await asyncio.wait_for(sub.get(), 5)]
            if later[0] == {"n": 1}:
                later.append(await asyncio.wait_for(sub.get(), 5))
            assert later[-1] == {"n": 2}
            assert bus.reconnects == 1
    finally:
        await bus.stop()
        await publisher.client.aclose()
        server.stop()


async def test_a_subscription_waits_for_redis_and_gives_up_in_time(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    bus = EventBus(server.url, ping_interval=0.5)
    await bus.start()
    try:
        kill(server)
        with pytest.raises(BusUnavailable):
            async with bus.subscribe(channel(), confirm_within=0.5):
                pass
        waiting = asyncio.create_task(_subscribe_and_receive(bus, server.url))
        await asyncio.sleep(0.3)
        server = await asyncio.to_thread(start_redis, tmp_path)
        assert await asyncio.wait_for(waiting, 20) == {"n": 7}
    finally:
        await bus.stop()
        server.stop()


async def _subscribe_and_receive(bus: EventBus, url: str) -> dict[str, Any]:
    name = channel()
    async with bus.subscribe(name) as sub:
        client = aioredis.Redis.from_url(url)
        await client.publish(name, '{"n": 7}')
        await client.aclose()
        while True:
            payload = await asyncio.wait_for(sub.get(), 10)
            if payload is not RESYNC:
                return payload


async def test_a_reconnect_redis_py_makes_by_itself_also_asks_for_a_snapshot(bus: EventBus) -> None:
    """redis-py re-subscribes a reconnected connection on its own; the repeated bus confirmation gives it away."""
    async with bus.subscribe(channel()) as sub:
        assert bus._pubsub is not None
        await bus._pubsub.subscribe(BUS_CHANNEL)  # what its on_connect callback sends
        assert await asyncio.wait_for(sub.get(), 5) is RESYNC
