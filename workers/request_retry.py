"""Retries belong to the request that failed: each AI call has its own budget of tries.

A transient failure (429, 5xx, timeout, dropped connection) of one chunk waits and tries that chunk
again while the other chunks go on; the job fails only when one request has used its whole budget
(`AI_REQUEST_MAX_ATTEMPTS` tries) or fails permanently. The wait is exponential with full jitter
(`min * 2^(try-1) * U(1, 2)`, capped), and never shorter than the server's Retry-After. A 429 also
tells the provider's limiter (audiocity/ai/limiter.py) to send fewer requests at once for a while, so a
rate limit slows the job down rather than failing it. Every retried failure is reported to
`on_retry`, which the pipeline stores in the job's history.

The SDK does not retry (`max_retries=0`) and Dramatiq only redelivers after a crash or a lost
database, so tries never multiply.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from audiocity.ai.base import TransientAIError
from audiocity.ai.limiter import AdaptiveLimiter
from audiocity.config import Settings
from audiocity.models import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    min_backoff_ms: int
    max_backoff_ms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=max(1, settings.ai_request_max_attempts),
            min_backoff_ms=max(0, settings.ai_request_min_backoff_ms),
            max_backoff_ms=max(0, settings.ai_request_max_backoff_ms),
        )

    def delay_seconds(self, failed_tries: int, retry_after: float | None) -> float:
        """The wait after the `failed_tries`-th failure: exponential with jitter, at least Retry-After.

        Retry-After gets up to 20% jitter of its own, so requests throttled together do not return together.
        """
        base = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** (failed_tries - 1))
        delay = base * random.uniform(1.0, 2.0) if base < self.max_backoff_ms else float(self.max_backoff_ms)
        if retry_after:
            delay = max(delay, math.ceil(retry_after * 1000 * random.uniform(1.0, 1.2)))
        return delay / 1000


@dataclass(frozen=True)
class RetryRecord:
    """One retried failure, as admins see it in the job's history."""

    what: str
    error: str
    at: datetime
    waited_seconds: float
    attempt: int  # the try that failed (1 = the first)
    rate_limited: bool


class GaveUp(TransientAIError):
    """One request failed transiently on every try of its budget: the job fails, naming the request."""


OnRetry = Callable[[RetryRecord], Awaitable[None]]


async def call_with_retry(
    what: str,
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    limiter: AdaptiveLimiter | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """Run `call` (one request to the provider) until it succeeds, fails permanently, or the budget is spent.

    With a limiter, each try first takes one of its slots (released during the wait).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            if limiter is None:
                result = await call()
            else:
                async with limiter.slot():
                    result = await call()
        except TransientAIError as exc:
            if limiter is not None and exc.rate_limited:
                await limiter.rate_limited()
            if attempt >= policy.max_attempts:
                tries = "1 try" if attempt == 1 else f"{attempt} tries"
                raise GaveUp(f"Gave up after {tries}: {what}: {exc}", exc.retry_after) from exc
            wait = policy.delay_seconds(attempt, exc.retry_after)
            record = RetryRecord(what, str(exc), utcnow(), round(wait, 3), attempt, exc.rate_limited)
            log.info(
                "%s failed (try %d of %d): %s; trying again in %.1f s", what, attempt, policy.max_attempts, exc, wait
            )
            if on_retry is not None:
                try:
                    await on_retry(record)
                except Exception:  # the history is for people; the retry matters more
                    log.warning("could not record a retry of %s", what, exc_info=True)
            await asyncio.sleep(wait)
            continue
        if limiter is not None:
            await limiter.succeeded()
        return result
