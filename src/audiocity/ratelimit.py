"""Token-bucket rate limits kept in Redis, so every API process shares the same counters.

One Lua script does the whole check-and-take atomically with Redis' own clock, so two processes
(or two hosts with skewed clocks) can neither double-spend a bucket nor disagree about refills.
A `Rule` is "N per S seconds": the bucket holds N tokens and refills N/S tokens a second.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

_SCRIPT = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = (cost - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil((capacity / rate) * 1000) + 1000)
return {allowed, tostring(tokens), tostring(retry)}
"""

_RULE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*(s|m|h)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, None: 1}


@dataclass(frozen=True)
class Rule:
    """`limit` tokens per `period` seconds; a limit of 0 turns the rule off."""

    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rule:
        """'5/300', '5/5m' or '100/1h'."""
        match = _RULE.match(text)
        if not match:
            raise ValueError(f"A rate limit looks like '5/300' or '5/5m', not {text!r}.")
        return cls(int(match[1]), int(match[2]) * _UNIT[match[3]])

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.period > 0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds until enough tokens are back; 0 when allowed

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up, for `Retry-After` and messages."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


ALLOW = Decision(True, 0, 0.0)


class RateLimited(Exception):
    """Raised by `RateLimiter.check` when any bucket is empty."""

    def __init__(self, decision: Decision, scope: str) -> None:
        super().__init__(f"Too many requests ({scope}); retry in {decision.retry_after_seconds} s.")
        self.decision = decision
        self.scope = scope

    @property
    def retry_after(self) -> int:
        return self.decision.retry_after_seconds


class RateLimiter:
    """Take tokens from named buckets in Redis (`ratelimit:<name>:<subject>`)."""

    def __init__(self, client: aioredis.Redis, prefix: str = "ratelimit") -> None:
        self.client = client
        self.prefix = prefix
        self._script: Any = client.register_script(_SCRIPT)

    async def hit(self, name: str, subject: str, rule: Rule, cost: float = 1.0) -> Decision:
        if not rule.enabled:
            return ALLOW
        key = f"{self.prefix}:{name}:{subject}"
        allowed, tokens, retry = await self._script(keys=[key], args=[rule.limit, rule.limit / rule.period, cost])
        return Decision(bool(int(allowed)), int(float(tokens)), float(retry))

    async def check(self, name: str, *limits: tuple[Rule, str | None], cost: float = 1.0) -> Decision:
        """Take from one bucket per (rule, subject), e.g. per account and per client address.

        A `None` subject is skipped; the first empty bucket raises `RateLimited`.
        """
        tightest = ALLOW
        for rule, subject in limits:
            if subject is None or not rule.enabled:
                continue
            decision = await self.hit(f"{name}:{rule.limit}/{rule.period:g}", subject, rule, cost)
            if not decision.allowed:
                raise RateLimited(decision, name)
            if tightest is ALLOW or decision.remaining < tightest.remaining:
                tightest = decision
        return tightest

    async def reset(self, name: str, subject: str) -> None:
        await self.client.delete(f"{self.prefix}:{name}:{subject}")
