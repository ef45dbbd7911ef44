"""Every Prometheus metric of the API and the workers, and how to expose them.

With `PROMETHEUS_MULTIPROC_DIR` set (several uvicorn or worker processes on one host), each process
writes its samples to files there and a scrape adds them up (prometheus-client's multiprocess
mode); gauges then say how to combine processes (`livesum`). The directory must be emptied when the
service starts, as prometheus-client asks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_SECONDS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200, 21600)

# -- HTTP and GraphQL (API) ------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "audiocity_http_requests_total", "HTTP requests", ["method", "path", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "audiocity_http_request_seconds", "HTTP request latency", ["method", "path"], registry=REGISTRY
)
GRAPHQL_OPERATIONS = Counter(
    "audiocity_graphql_operations_total", "GraphQL operations by name and type", ["operation", "type"],
    registry=REGISTRY,
)  # fmt: skip
GRAPHQL_LATENCY = Histogram(
    "audiocity_graphql_operation_seconds", "GraphQL operation latency (a subscription: its lifetime)",
    ["operation", "type"], buckets=SECONDS, registry=REGISTRY,
)  # fmt: skip
GRAPHQL_ERRORS = Counter(
    "audiocity_graphql_errors_total", "GraphQL errors in responses by code", ["operation", "type", "code"],
    registry=REGISTRY,
)  # fmt: skip
RESOLVER_ERRORS = Counter(
    "audiocity_graphql_resolver_errors_total", "Errors raised by resolvers (errors with a path), by code",
    ["operation", "code"], registry=REGISTRY,
)  # fmt: skip
GRAPHQL_FAST_PATH = Counter(
    "audiocity_graphql_fast_path_total",
    "Operations by the compiled catalog plan: fast (answered), fallback (ran the executor), unsupported",
    ["outcome"], registry=REGISTRY,
)  # fmt: skip
CATALOG_LISTENER_UP = Gauge(
    "audiocity_catalog_listener_up", "1 while the catalog version listener (LISTEN/NOTIFY) is in sync",
    registry=REGISTRY, multiprocess_mode="livemin",
)  # fmt: skip
CATALOG_VERSION_QUERIES = Counter(
    "audiocity_catalog_version_queries_total", "Catalog versions read from the database (listener not in sync)",
    registry=REGISTRY,
)  # fmt: skip
WEBSOCKETS = Gauge(
    "audiocity_websocket_connections", "Open WebSocket connections", registry=REGISTRY, multiprocess_mode="livesum"
)
SUBSCRIPTIONS = Gauge(
    "audiocity_graphql_subscriptions", "Active GraphQL subscriptions", ["operation"], registry=REGISTRY,
    multiprocess_mode="livesum",
)  # fmt: skip
EVENT_BUS_LAG = Histogram(
    "audiocity_event_bus_lag_seconds", "From publishing an event to handing it to subscribers",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=REGISTRY,
)  # fmt: skip
PAYMENTS = Counter(
    "audiocity_payments_total", "Payment outcomes by provider", ["provider", "outcome"], registry=REGISTRY
)

# -- workers ----------------------------------------------------------------------------------------
MESSAGES_PROCESSED = Counter(
    "audiocity_worker_messages_processed_total", "Messages processed successfully", ["actor"], registry=REGISTRY
)
MESSAGES_FAILED = Counter(
    "audiocity_worker_messages_failed_total", "Messages that failed for good", ["actor"], registry=REGISTRY
)
MESSAGES_RETRIED = Counter(
    "audiocity_worker_messages_retried_total", "Messages sent back for a retry", ["actor"], registry=REGISTRY
)
MESSAGES_IN_PROGRESS = Gauge(
    "audiocity_worker_messages_in_progress", "Messages being processed", ["actor"], registry=REGISTRY,
    multiprocess_mode="livesum",
)  # fmt: skip
MESSAGE_SECONDS = Histogram(
    "audiocity_worker_message_seconds", "Time to process one message", ["actor"], buckets=JOB_SECONDS,
    registry=REGISTRY,
)  # fmt: skip
JOBS = Counter("audiocity_jobs_total", "Transcription job attempts by outcome", ["outcome"], registry=REGISTRY)
JOB_STAGE_SECONDS = Histogram(
    "audiocity_job_stage_seconds", "Time a job attempt spent per stage, by the attempt's outcome",
    ["stage", "outcome"], buckets=JOB_SECONDS, registry=REGISTRY,
)  # fmt: skip
AUDIO_SECONDS = Counter(
    "audiocity_transcribed_audio_seconds_total", "Seconds of audio transcribed", ["provider"], registry=REGISTRY
)
PROVIDER_REQUESTS = Counter(
    "audiocity_provider_requests_total", "Requests to AI providers by status", ["provider", "kind", "status"],
    registry=REGISTRY,
)  # fmt: skip
OPENAI_TOKENS = Counter(
    "audiocity_openai_tokens_total", "Tokens billed by OpenAI", ["model", "kind"], registry=REGISTRY
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def operation_label(name: str | None) -> str:
    """Client-chosen operation names, bounded: odd or missing names collapse to one value each."""
    if not name:
        return "anonymous"
    return name if _NAME.match(name) else "other"


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """What a scrape reads: this process's registry, or every process's files in multiprocess mode."""
    if not multiprocess():
        for collector in extra:
            with contextlib.suppress(ValueError):  # already registered
                REGISTRY.register(collector)
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in extra:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry | None = None) -> bytes:
    return generate_latest(registry or scrape_registry())


def serve_metrics(port: int, host: str = "0.0.0.0", extra: Iterable[Collector] = ()) -> bool:
    """A worker's own /metrics port (a daemon thread).

    A port already taken (a second worker on the host with the same WORKER_METRICS_PORT) is logged
    and the worker runs on without metrics: transcription matters more than its charts.
    """
    try:
        start_http_server(port, addr=host, registry=scrape_registry(extra))
    except OSError as exc:
        log.error(
            "cannot serve worker metrics on %s:%d (%s): give each worker on a host its own WORKER_METRICS_PORT",
            host, port, exc.strerror or exc,
        )  # fmt: skip
        return False
    return True


class QueueDepth(Collector):
    """Messages waiting in each Dramatiq queue, read from Redis at scrape time."""

    def __init__(self, depths: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.depths = depths

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "audiocity_queue_depth", "Messages waiting in a queue (ready or delayed)", labels=["queue", "state"]
        )
        try:
            depths = self.depths()
        except Exception:  # Redis unreachable: say nothing rather than fail the scrape
            depths = {}
        for (queue, state), count in depths.items():
            family.add_metric([queue, state], count)
        yield family
