"""Adaptive concurrency towards one AI provider: halve it on a 429, raise it again as requests succeed.

Every job of a process shares one limiter per provider (it lives in the worker's resources), and
every process reads the same limit from Redis, so a rate limit seen by one worker slows them all:

- `audiocity:ai-limit:<provider>` holds the current limit per process while the provider is
  throttling us. It expires `cooldown` seconds after the last 429, which restores full speed.
- On a 429 the limit becomes half the current one (at least 1) and the cooldown starts again.
- Every `current limit` successes in a row (counted in Redis too) raise the limit by one
  (additive increase, multiplicative decrease, as TCP does).

Redis is a hint here: if it is unreachable the limiter keeps its last known limit locally, and
requests go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import redis.exceptions

log = logging.getLogger(__name__)

KEY_PREFIX = "audiocity:ai-limit:"
REFRESH_SECONDS = 0.2  # how stale the locally cached limit may be
POLL_SECONDS = 0.02  # how often a waiting request looks for a free slot

# On a 429: new = max(1, min(current, ceiling) // 2); the key lives for `cooldown` ms.
_DECREASE = """
local current = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local new = math.max(1, math.floor(math.min(current, tonumber(ARGV[1])) / 2))
redis.call('SET', KEYS[1], new, 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return new
"""
# On a success while throttled: count it; after `limit` successes raise the limit by one.
_INCREASE = """
local current = tonumber(redis.call('GET', KEYS[1]))
if not current then return tonumber(ARGV[1]) end
local ok = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if ok >= current then
  redis.call('DEL', KEYS[2])
  current = current + 1
  if current >= tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[1])
    return tonumber(ARGV[1])
  end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('SET', KEYS[1], current, 'PX', ttl) else redis.call('SET', KEYS[1], current) end
end
return current
"""


class AdaptiveLimiter:
    """At most `limit` requests of this process in flight; `limit` is between 1 and `ceiling`."""

    def __init__(self, client: aioredis.Redis, provider: str, *, ceiling: int, cooldown_seconds: float) -> None:
        self.client = client
        self.key = KEY_PREFIX + provider
        self.ok_key = self.key + ":ok"
        self.ceiling = max(1, ceiling)
        self.cooldown_ms = max(1, int(cooldown_seconds * 1000))
        self._limit = self.ceiling
        self._read_at = 0.0
        self._in_flight = 0
        self.lowest = self.ceiling  # the lowest limit this process has seen (for logs and tests)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def limit(self) -> int:
        now = time.monotonic()
        if now - self._read_at >= REFRESH_SECONDS:
            self._read_at = now
            try:
                value = await self.client.get(self.key)
                self._set(int(value) if value is not None else self.ceiling)
            except (redis.exceptions.RedisError, OSError, ValueError):
                pass  # keep the last known limit
        return self._limit

    def _set(self, value: int) -> None:
        self._limit = max(1, min(self.ceiling, value))
        self.lowest = min(self.lowest, self._limit)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free slot under the current limit, and hold it for the request."""
        # Polling, not an Event: the limit also changes in Redis, from other processes.
        while self._in_flight >= await self.limit():  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def rate_limited(self) -> int:
        """The provider said 429: halve the limit of every process for a while."""
        try:
            new = int(
                await self.client.eval(  # type: ignore[misc]
                    _DECREASE, 2, self.key, self.ok_key, str(self._limit), str(self.cooldown_ms)
                )
            )
        except (redis.exceptions.RedisError, OSError):
            new = max(1, self._limit // 2)
        self._set(new)
        self._read_at = time.monotonic()
        log.info("%s is rate limiting: at most %d request(s) at a time per process", self.key[len(KEY_PREFIX) :], new)
        return new

    async def succeeded(self) -> None:
        """A request succeeded: while throttled, creep back up towards the ceiling."""
        if self._limit >= self.ceiling:
            return
        try:
            new = int(
                await self.client.eval(  # type: ignore[misc]
                    _INCREASE, 2, self.key, self.ok_key, str(self.ceiling), str(self.cooldown_ms)
                )
            )
        except (redis.exceptions.RedisError, OSError):
            return
        self._set(new)
        self._read_at = time.monotonic()
