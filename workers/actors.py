"""Actor declarations: thin wrappers that find their resources and call the pipeline."""

from __future__ import annotations

import dramatiq

from audiocity.config import get_settings
from audiocity.jobs import TRANSCRIBE_AUDIOBOOK
from workers import resources
from workers.transcription import run_transcription, should_retry

_settings = get_settings()


@dramatiq.actor(
    actor_name=TRANSCRIBE_AUDIOBOOK,
    max_retries=_settings.job_max_retries,
    min_backoff=2_000,
    max_backoff=120_000,
    retry_when=should_retry,
    time_limit=24 * 3600 * 1000,
)
async def transcribe_audiobook(job_id: str) -> None:
    await run_transcription(resources.current(), job_id)
