"""The public response cache: whole answers to anonymous catalog queries, by catalog version.

A key is the catalog version (bumped by database triggers in the same transaction as any catalog
write), the document's hash, the operation name and the variables. A write therefore never needs to
find and delete entries: the next read sees a new version and misses. Answers live in a small LRU in
each process and in Redis for the other processes; entries of old versions simply age out.
Only anonymous requests whose root fields are all public catalog fields are cached, so an answer
that depends on who asks (`owned`, drafts for admins, carts, libraries) is never shared.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from typing import Any

import redis.asyncio as aioredis
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
PREFIX = "audiocity:response:"
PUBLIC_ROOT_FIELDS = frozenset({"audiobooks", "audiobook", "categories", "__typename"})


def is_public_document(document: str, operation_name: str | None) -> bool:
    """A query (not a mutation or subscription) whose root fields are all public catalog reads."""
    try:
        parsed = parse(document)
    except GraphQLError:
        return False
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in PUBLIC_ROOT_FIELDS for s in selections)


def cache_key(
    version: int, document_hash: str, operation_name: str | None, variables: Any, links_window: int = 0
) -> str:
    """`links_window` (`services.covers.link_window`) retires answers before the cover links in them expire."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    raw = f"{version}\0{links_window}\0{document_hash}\0{operation_name or ''}\0{canonical}\0anonymous"
    return hashlib.sha256(raw.encode()).hexdigest()


class ResponseCache:
    """Answers by key: an in-process LRU in front of Redis."""

    def __init__(self, redis: aioredis.Redis | None, entries: int, ttl_seconds: int) -> None:
        self.redis = redis
        self.entries = entries
        self.ttl_seconds = ttl_seconds
        self._local: OrderedDict[str, bytes] = OrderedDict()
        self._public: OrderedDict[tuple[str, str | None], bool] = OrderedDict()

    def is_public(self, document_hash: str, document: str, operation_name: str | None) -> bool:
        """`is_public_document`, parsed once per distinct document."""
        key = (document_hash, operation_name)
        found = self._public.get(key)
        if found is None:
            found = self._public[key] = is_public_document(document, operation_name)
            while len(self._public) > 4 * self.entries:
                self._public.popitem(last=False)
        return found

    def _remember(self, key: str, body: bytes) -> None:
        self._local[key] = body
        self._local.move_to_end(key)
        while len(self._local) > self.entries:
            self._local.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        found = self._local.get(key)
        if found is not None or self.redis is None:
            return found
        try:
            raw = await self.redis.get(PREFIX + key)
        except RedisError:
            log.warning("response cache read failed; answering uncached", exc_info=True)
            return None
        if raw is None:
            return None
        body = raw if isinstance(raw, bytes) else str(raw).encode()
        self._remember(key, body)
        return body

    async def put(self, key: str, body: bytes) -> None:
        self._remember(key, body)
        if self.redis is not None:
            try:
                await self.redis.set(PREFIX + key, body, ex=self.ttl_seconds)
            except RedisError:
                log.warning("response cache write failed", exc_info=True)
