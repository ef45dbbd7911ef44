"""OpenAI (or any OpenAI-compatible server) embeddings for meaning search.

`text-embedding-3-*` models are asked for EMBEDDING_DIMENSIONS numbers (`dimensions=`), so their vectors
fit the same column as the local model's; each row records its provider and model and vectors of
different models are never compared. The client does not retry by itself (see openai_provider): the
pipeline retries each request on its own budget, and a query embedding that fails is the request's error.
"""

from __future__ import annotations

import json
import math

import openai

from audiocity.ai.base import EMBEDDING_DIMENSIONS, Embeddings, TransientAIError
from audiocity.ai.openai_provider import make_client, to_ai_error
from audiocity.config import Settings

QUERY_TIMEOUT_SECONDS = 15.0  # a search waits for the query's vector: fail fast rather than hang the request


class OpenAIEmbedder:
    """`embeddings.create` with `dimensions=384`; vectors are re-normalised to unit length."""

    name: str = "openai"

    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None, *, query: bool = False) -> None:
        self.model = settings.openai_embedding_model
        timeout = QUERY_TIMEOUT_SECONDS if query else None
        self.client = client or make_client(settings, timeout=timeout)

    async def embed(self, texts: list[str]) -> Embeddings:
        if not texts:
            return Embeddings([], provider=self.name, model=self.model)
        try:
            result = await self.client.embeddings.create(
                model=self.model, input=texts, dimensions=EMBEDDING_DIMENSIONS, encoding_format="float"
            )
        except (openai.OpenAIError, json.JSONDecodeError) as err:
            raise to_ai_error(err) from err
        by_index = sorted(result.data, key=lambda item: item.index)
        if len(by_index) != len(texts) or any(len(item.embedding) != EMBEDDING_DIMENSIONS for item in by_index):
            raise TransientAIError(
                f"OpenAI sent {len(by_index)} embeddings for {len(texts)} texts, or of the wrong size "
                f"(expected {EMBEDDING_DIMENSIONS} numbers each)"
            )
        vectors = [_unit(item.embedding) for item in by_index]
        tokens = int(getattr(result.usage, "total_tokens", 0) or 0)
        return Embeddings(vectors, provider=self.name, model=self.model, tokens=tokens)


def _unit(vector: list[float]) -> list[float]:
    """The same direction at length 1 (shortened text-embedding-3 vectors are not unit length)."""
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else list(vector)
