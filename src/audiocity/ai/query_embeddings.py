"""Embedding search queries in the API process: one embedder made on first use, recent queries cached.

The backend is the one the workers embed books with (same provider and model, chosen from the same
settings), so a query is only ever compared with vectors of its own model. The local model loads on
the first `semantic` query, in a thread like every encoding, never on the event loop. People repeat
searches (and page through them), so the last CACHE_SIZE query vectors are kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from audiocity.ai.base import Embedder
from audiocity.config import Settings

CACHE_SIZE = 512


def embedding_model(settings: Settings) -> tuple[str, str]:
    """(provider, model) that books are embedded with under these settings, without loading anything."""
    if settings.openai_api_key:
        return "openai", settings.openai_embedding_model
    from audiocity.ai.local_embeddings import MODEL_NAME

    return "local", MODEL_NAME


class QueryEmbedder:
    """Vectors for search strings. Raises `MissingExtra` when no model is installed, and the backend's
    TransientAIError / PermanentAIError when the provider fails."""

    def __init__(self, settings: Settings, cache_size: int = CACHE_SIZE) -> None:
        self.settings = settings
        self.provider, self.model = embedding_model(settings)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._backend: Embedder | None = None
        self._lock = asyncio.Lock()
        self.computed = 0  # vectors actually computed (cache misses)

    def _embedder(self) -> Embedder:
        if self._backend is None:
            from audiocity.ai import get_embedder

            self._backend = get_embedder(self.settings, query=True)
        return self._backend

    async def vector(self, text: str) -> list[float]:
        key = " ".join(text.split()).lower()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        async with self._lock:  # one computation at a time: the local model uses every core anyway
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            result = await self._embedder().embed([key])
            self.computed += 1
        vector = result.vectors[0]
        self._cache[key] = vector
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return vector
