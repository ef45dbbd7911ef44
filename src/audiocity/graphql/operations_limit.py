"""The client's operations-per-minute budget (`RATE_LIMIT_OPERATIONS_PER_CLIENT`), one token per operation.

Taken once per operation where the operation enters: by the front for HTTP (`graphql/front.py`,
cached answers and executed ones alike) and by the socket handlers for each operation a socket
starts (`graphql/sockets.py`). The budget lives in Redis, so every API process shares it.
"""

from __future__ import annotations

from graphql import GraphQLError

from audiocity.graphql.errors import rate_limited
from audiocity.ratelimit import RateLimited, Rule
from audiocity.resources import AppResources


async def operations_refused(res: AppResources, client: str | None) -> GraphQLError | None:
    """Take one token for `client`; the `RATE_LIMITED` error (with `retryAfter`) when none is left."""
    rule = Rule.parse(res.settings.rate_limit_operations_per_client)
    if res.limiter is None or client is None or not rule.enabled:
        return None
    try:
        await res.limiter.check("operations", (rule, f"client:{client}"))
    except RateLimited as exc:
        return rate_limited(exc.retry_after)
    return None
