"""The embedding stage of a transcription job: vectors for meaning search, after the summary.

It embeds the book's BOOK text (title, summary, description) and every transcript passage with the
worker's embedder, in batches of EMBEDDING_BATCH_SIZE. Each batch is stored as soon as it arrives and
advances the job's progress (0.96 -> 0.99) with an event to subscribers. Resumable: what is already
stored for the same model and the same text is never sent again (services/embeddings.pending_items),
so a retried job only embeds what is missing. Each request has its own retry budget (the pipeline's
`ask`); a request that uses it up fails the job like a failed chunk, and `startTranscription` resumes.

Skipped, with a note in the job's message, when the database has no pgvector (no embeddings table) or
the worker has no embedder (no OPENAI_API_KEY and no `local-embeddings` extra).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq

from audiocity.ai.base import Embedder, Embeddings, PermanentAIError
from audiocity.db import session_scope
from audiocity.models import JobStage
from audiocity.services import embeddings
from audiocity.services import jobs as job_service
from audiocity.tasks import REFRESH_EMBEDDINGS
from workers import resources
from workers.request_retry import RetryPolicy, call_with_retry
from workers.resources import Resources

log = logging.getLogger(__name__)

START, END = 0.96, 0.99  # the stage's share of the job's progress

Ask = Callable[[str, str, str, str, Callable[[], Awaitable[Embeddings]]], Awaitable[Embeddings]]
Advance = Callable[..., Awaitable[Any]]


async def _missing(res: Resources, book_id: uuid.UUID) -> tuple[Embedder, list[embeddings.Item], int] | str:
    """The embedder, the texts the book still needs embedded and how many it has in all; or why
    meaning search is off here (no model, no pgvector)."""
    embedder = res.embedder
    if embedder is None:
        return "Meaning search is off: no embedding model is installed."
    async with session_scope(res.sessions) as session:
        if not await embeddings.vectors_available(session):
            return "Meaning search is off: the database has no pgvector."
        pending, total = await embeddings.pending_items(session, book_id, embedder.name, embedder.model)
    return embedder, pending, total


async def embed_book(res: Resources, job_id: uuid.UUID, book_id: uuid.UUID, *, ask: Ask, advance: Advance) -> str:
    """Embed what the book is missing; returns a sentence for the job's final message."""
    missing = await _missing(res, book_id)
    if isinstance(missing, str):
        return missing
    embedder, pending, total = missing
    done = total - len(pending)
    await advance(
        stage=JobStage.EMBEDDING,
        progress=START,
        message=f"Embedding for meaning search: {done} of {total} done.",
    )
    size = max(1, res.settings.embedding_batch_size)
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        where = f"embeddings {done + 1}-{done + len(batch)} of {total}"
        call = functools.partial(embedder.embed, [item.content for item in batch])
        try:
            result = await ask("embedding", embedder.name, embedder.model, where, call)
        except PermanentAIError as exc:  # (a spent retry budget already names the request)
            raise PermanentAIError(f"{where}: {exc}") from exc
        async with session_scope(res.sessions) as session:
            await embeddings.save_vectors(session, book_id, embedder.name, embedder.model, batch, result.vectors)
            amounts = {"requests": 1.0, "texts": float(len(batch))}
            if result.tokens:
                amounts["tokens"] = float(result.tokens)
            await job_service.add_usage(session, job_id, "embedding", embedder.name, embedder.model, **amounts)
        done += len(batch)
        await advance(
            stage=JobStage.EMBEDDING,
            progress=round(START + (END - START) * done / total, 4),
            message=f"Embedding for meaning search: {done} of {total} done.",
        )
    async with session_scope(res.sessions) as session:
        await embeddings.drop_other_models(session, book_id, embedder.name, embedder.model)
    log.info("embedded %d of %d texts with %s/%s", len(pending), total, embedder.name, embedder.model)
    return "Meaning search is ready."


async def refresh_book(res: Resources, audiobook_id: str) -> int:
    """Embed what an edit left missing or stale (no job: an edit is not a transcription); returns how
    many texts were sent. Passages whose text did not change keep their vectors."""
    book_id = uuid.UUID(audiobook_id)
    missing = await _missing(res, book_id)
    if isinstance(missing, str) or not missing[1]:
        return 0
    embedder, pending, _total = missing
    policy = RetryPolicy.from_settings(res.settings)
    limiter = res.limiters.get(embedder.name) if res.limiters else None
    size = max(1, res.settings.embedding_batch_size)
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        call = functools.partial(embedder.embed, [item.content for item in batch])
        result = await call_with_retry(f"re-embedding {audiobook_id}", call, policy, limiter=limiter)
        async with session_scope(res.sessions) as session:
            await embeddings.save_vectors(session, book_id, embedder.name, embedder.model, batch, result.vectors)
    log.info("re-embedded %d texts of %s after an edit", len(pending), audiobook_id)
    return len(pending)


@dramatiq.actor(actor_name=REFRESH_EMBEDDINGS, max_retries=3)
async def refresh_embeddings(audiobook_id: str) -> None:
    await refresh_book(resources.current(), audiobook_id)
