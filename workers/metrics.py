"""Worker metrics, as one Dramatiq middleware, plus the job-level counters the pipeline reports.

Messages processed / failed / retried by actor and their durations come from the broker's hooks;
queue depth is read from Redis at scrape time; job stages, audio seconds, provider requests and
OpenAI tokens are reported by the transcription pipeline through the helpers below. A worker
process serves them on `WORKER_METRICS_PORT` (0 turns that off).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from audiocity.metrics import (
    AUDIO_SECONDS,
    JOB_STAGE_SECONDS,
    JOBS,
    MESSAGE_SECONDS,
    MESSAGES_FAILED,
    MESSAGES_IN_PROGRESS,
    MESSAGES_PROCESSED,
    MESSAGES_RETRIED,
    OPENAI_TOKENS,
    PROVIDER_REQUESTS,
    QueueDepth,
)

# The pipeline's timings (job_service.add_timings names) and the stage they measure.
STAGES = {"transcribe_seconds": "transcribe", "stitch_seconds": "stitch", "summarize_seconds": "summarize"}


class WorkerMetrics(dramatiq.Middleware):
    def __init__(self) -> None:
        self._started = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._started.at = time.perf_counter()
        MESSAGES_IN_PROGRESS.labels(message.actor_name).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = getattr(self._started, "at", None)
        MESSAGES_IN_PROGRESS.labels(message.actor_name).dec()
        if started is not None:
            MESSAGE_SECONDS.labels(message.actor_name).observe(time.perf_counter() - started)
        if exception is None:
            MESSAGES_PROCESSED.labels(message.actor_name).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        MESSAGES_IN_PROGRESS.labels(message.actor_name).dec()

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        if "retries" in message.options:  # the Retries middleware sending it back
            MESSAGES_RETRIED.labels(message.actor_name).inc()

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        MESSAGES_FAILED.labels(message.actor_name).inc()


def queue_depth(broker: RedisBroker) -> QueueDepth:
    """Ready and delayed messages per declared queue (Dramatiq's Redis layout: a list per queue)."""

    def depths() -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for queue in sorted(broker.get_declared_queues()):
            if queue.endswith((".DQ", ".XQ")):
                continue
            for state, name in (("ready", queue), ("delayed", f"{queue}.DQ")):
                found[(queue, state)] = int(broker.client.llen(f"{broker.namespace}:{name}"))
        return found

    return QueueDepth(depths)


def observe_job(outcome: str, timings: dict[str, float]) -> None:
    JOBS.labels(outcome).inc()
    for name, stage in STAGES.items():
        if name in timings:
            JOB_STAGE_SECONDS.labels(stage, outcome).observe(timings[name])
    if "run_seconds" in timings:
        JOB_STAGE_SECONDS.labels("total", outcome).observe(timings["run_seconds"])


def observe_request(provider: str, kind: str, status: str, *, audio_seconds: float = 0.0) -> None:
    PROVIDER_REQUESTS.labels(provider, kind, status).inc()
    if audio_seconds:
        AUDIO_SECONDS.labels(provider).inc(audio_seconds)


def observe_tokens(provider: str, model: str, **amounts: float | int | None) -> None:
    if provider != "openai":
        return
    for kind, amount in amounts.items():
        if amount:
            OPENAI_TOKENS.labels(model, kind).inc(amount)
