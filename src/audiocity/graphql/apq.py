"""Automatic persisted queries: a client sends a document's sha256 instead of the document.

The first request with only a hash is answered `PERSISTED_QUERY_NOT_FOUND`; the client then sends hash
and document together, which registers it (checked: the hash must be the document's sha256) in this
process and in Redis, so every API process knows it from then on and it can be sent as a GET.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
PREFIX = "audiocity:apq:"
KEEP_SECONDS = 30 * 24 * 3600


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedQueries:
    """Documents by hash: a small in-process LRU in front of Redis, shared by all processes."""

    def __init__(self, redis: aioredis.Redis | None, entries: int = 1000) -> None:
        self.redis = redis
        self.entries = entries
        self._local: OrderedDict[str, str] = OrderedDict()

    def _remember(self, digest: str, document: str) -> None:
        self._local[digest] = document
        self._local.move_to_end(digest)
        while len(self._local) > self.entries:
            self._local.popitem(last=False)

    async def lookup(self, digest: str) -> str | None:
        found = self._local.get(digest)
        if found is not None or self.redis is None:
            return found
        try:
            raw = await self.redis.get(PREFIX + digest)
        except RedisError:
            log.warning("persisted query lookup failed; treating as unknown", exc_info=True)
            return None
        if raw is None:
            return None
        document = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._remember(digest, document)
        return document

    async def register(self, digest: str, document: str) -> None:
        """Store a document the caller has checked hashes to `digest`."""
        self._remember(digest, document)
        if self.redis is not None:
            try:
                await self.redis.set(PREFIX + digest, document, ex=KEEP_SECONDS)
            except RedisError:
                log.warning("persisted query not shared through Redis", exc_info=True)
