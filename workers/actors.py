"""Actor declarations: thin wrappers that find their resources and call the pipeline."""

from __future__ import annotations

import dramatiq

from audiocity.config import get_settings
from audiocity.tasks import TRANSCRIBE_AUDIOBOOK
from workers import resources
from workers.commerce import expire_pending_orders  # noqa: F401  (declares the order sweeper)
from workers.embedding import refresh_embeddings  # noqa: F401  (declares the re-embedder)
from workers.notices import send_email, send_notice  # noqa: F401  (declares the email actors)
from workers.previews import cut_preview  # noqa: F401  (declares the preview cutter)
from workers.transcription import run_transcription, should_retry

_settings = get_settings()


@dramatiq.actor(
    actor_name=TRANSCRIBE_AUDIOBOOK,
    # The pipeline decides when to retry and raises `dramatiq.Retry(delay=...)` (backoff with jitter,
    # at least Retry-After); the backoff options here only apply to a database/Redis outage caught
    # before the job row could be read.
    max_retries=_settings.job_max_retries,
    retry_when=should_retry,
    min_backoff=_settings.job_retry_min_backoff_ms,
    max_backoff=_settings.job_retry_max_backoff_ms,
    time_limit=24 * 3600 * 1000,
)
async def transcribe_audiobook(job_id: str) -> None:
    await run_transcription(resources.current(), job_id)
