"""One request that queues a job, watched the way a deployer watches production.

A real `audiocity serve` (no in-process worker) and a real `audiocity worker` share PostgreSQL,
Redis and local storage, log JSON, and export traces to an OTLP collector stand-in on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from audiocity.graphql.relay import from_global_id
from tests.conftest import FIXTURES
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, free_port, run_server
from tests.fakes.otlp_collector import FakeCollector
from tests.workers.conftest import with_db

SPEECH = FIXTURES / "speech" / "river.mp3"
LOGIN = """mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken user { id } errors { code message } } }"""
CREATE_BOOK = """mutation CreateBook($input: AudiobookInput!) { createAudiobook(input: $input) {
  audiobook { id } errors { code field message } } }"""
UPLOAD = """mutation UploadAudio($audiobookId: ID!, $file: Upload!) {
  uploadAudioFile(audiobookId: $audiobookId, file: $file) { job { id } errors { code message } } }"""
JOB_UPDATES = """subscription JobUpdates($jobId: ID) { jobUpdates(jobId: $jobId) { status sequence } }"""

# Process start-up takes seconds, or minutes on a loaded shared machine.
STARTUP = 300


@pytest.fixture(scope="module")
def collector() -> Iterator[FakeCollector]:
    running = FakeCollector().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, collector: FakeCollector
) -> Iterator[tuple[Server, Path, int]]:
    """The API and one worker process on a Redis database of their own."""
    queue_url = with_db(redis_url, 13)
    data_dir = tmp_path_factory.mktemp("observed")
    signals = {
        "LOG_FORMAT": "json",
        "IN_PROCESS_WORKER": "0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with run_server(data_dir, database_url, queue_url, ready_within=STARTUP, **signals) as server:
        metrics_port = free_port()
        env = {**server.env, "WORKER_METRICS_PORT": str(metrics_port), "WORKER_METRICS_HOST": "127.0.0.1"}
        worker_log = data_dir / "worker.log"
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "audiocity.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            yield server, worker_log, metrics_port
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line a process wrote must be one JSON object."""
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                raise AssertionError(f"not a JSON log line in {path.name}: {raw!r}") from None
    return lines


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def eventually(check: Any, what: str, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_one_request_that_queues_a_job_is_visible_in_logs_metrics_and_one_trace(
    stack: tuple[Server, Path, int], collector: FakeCollector
) -> None:
    server, worker_log, metrics_port = stack
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    admin_email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    made = server.cli("create-admin", "--email", admin_email, "--password", "admin password 1")
    assert made.returncode == 0, made.stderr

    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(http, server.graphql_url)
        login = (await anon(LOGIN, email=admin_email, password="admin password 1"))["login"]
        admin = GraphQLClient(http, server.graphql_url, login["accessToken"])
        admin_id = login["user"]["id"]
        book = (await admin(CREATE_BOOK, input={
            "title": "The River", "authors": ["Ana Flow"], "priceCents": 500, "currency": "USD",
        }))["createAudiobook"]  # fmt: skip
        assert book["errors"] == [], book
        book_id = book["audiobook"]["id"]

        # The request that queues the job, with a load balancer's request id.
        operations = {"query": UPLOAD, "variables": {"audiobookId": book_id, "file": None}}
        response = await http.post(
            server.graphql_url,
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": (SPEECH.name, SPEECH.read_bytes(), "audio/mpeg")},
            headers={**admin.headers(), "X-Request-Id": request_id},
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == request_id
        uploaded = response.json()["data"]["uploadAudioFile"]
        assert uploaded["errors"] == [], uploaded
        job_id = uploaded["job"]["id"]

        # A subscription over a real WebSocket until the worker finishes the job.
        statuses: list[str] = []
        async with asyncio.timeout(2 * STARTUP):
            async for message in admin.subscribe(JOB_UPDATES, jobId=job_id):
                statuses.append(message["data"]["jobUpdates"]["status"])
                if len(statuses) == 1:  # while it is open: one socket, one subscription
                    live = (await http.get(f"{server.base_url}/metrics")).text
                    assert sample(live, "audiocity_websocket_connections") == 1.0
                    assert sample(live, "audiocity_graphql_subscriptions", operation="JobUpdates") == 1.0
        assert statuses[-1] == "SUCCEEDED", statuses

        # Errors carry the request id in their extensions (here: a query that does not validate).
        bad = await http.post(server.graphql_url, json={"query": "query Broken { noSuchField }"})
        error = bad.json()["errors"][0]
        assert error["extensions"]["requestId"] == bad.headers["x-request-id"]

        # API metrics, by operation name and type.
        api = (await http.get(f"{server.base_url}/metrics")).text
        assert sample(api, "audiocity_graphql_operations_total", operation="UploadAudio", type="mutation") == 1.0
        assert sample(api, "audiocity_graphql_operations_total", operation="JobUpdates", type="subscription") == 1.0
        assert sample(api, "audiocity_graphql_operation_seconds_count", operation="Login", type="mutation") == 1.0
        assert sample(api, "audiocity_graphql_errors_total", operation="Broken", code="GRAPHQL_VALIDATION_FAILED")
        assert sample(api, "audiocity_websocket_connections") == 0.0
        assert sample(api, "audiocity_graphql_subscriptions", operation="JobUpdates") == 0.0
        assert (sample(api, "audiocity_event_bus_lag_seconds_count") or 0) >= 1

        # Worker metrics, on the worker's own port, after the real job.
        async def worker_metrics() -> str | None:
            text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            done = sample(text, "audiocity_worker_messages_processed_total", actor="transcribe_audiobook")
            return text if done == 1.0 else None

        worker = await eventually(worker_metrics, "the worker to count the message", within=120)
    assert sample(worker, "audiocity_jobs_total", outcome="succeeded") == 1.0
    assert sample(worker, "audiocity_job_stage_seconds_count", stage="transcribe", outcome="succeeded") == 1.0
    assert sample(worker, "audiocity_job_stage_seconds_count", stage="summarize", outcome="succeeded") == 1.0
    assert (sample(worker, "audiocity_transcribed_audio_seconds_total", provider="local") or 0) > 1
    assert (sample(worker, "audiocity_provider_requests_total", kind="transcription", status="ok") or 0) >= 1
    assert sample(worker, "audiocity_queue_depth", queue="default", state="ready") == 0.0
    assert sample(worker, "audiocity_worker_messages_failed_total", actor="transcribe_audiobook") in (None, 0.0)

    # Logs: every line is JSON; the request's lines carry its id, user and operation; the job's
    # lines carry the job, the audiobook and the id of the request that queued it.
    api_lines = json_lines(server.log_path)
    of_request = [line for line in api_lines if line.get("request_id") == request_id]
    assert of_request, "the request's lines carry its id"
    admin_uuid = str(from_global_id(admin_id)[1])
    assert any(line.get("operation") == "UploadAudio" and line.get("user_id") == admin_uuid for line in of_request)
    worker_lines = json_lines(worker_log)
    job_uuid, book_uuid = str(from_global_id(job_id)[1]), str(from_global_id(book_id)[1])
    of_job = [line for line in worker_lines if line.get("job_id") == job_uuid]
    assert any("transcription started" in line["message"] for line in of_job), worker_lines[-20:]
    assert all(line.get("request_id") == request_id for line in of_job)
    assert any(line.get("audiobook_id") == book_uuid for line in of_job)
    token = login["accessToken"]
    assert all(token not in line["message"] for line in api_lines + worker_lines)

    # One trace spans the API request and the worker's processing of the job it queued.
    async def joined() -> list[Any] | None:
        spans = collector.spans()
        processing = [s for s in spans if s.service == "audiocity-worker" and s.name == "transcribe_audiobook process"]
        for span in processing:
            trace = [s for s in spans if s.trace_id == span.trace_id]
            if any(s.service == "audiocity-api" and s.span_id == span.parent_id for s in trace):
                return trace
        return None

    trace = await eventually(joined, "one trace across API and worker", within=120)
    services = {s.service for s in trace}
    assert services == {"audiocity-api", "audiocity-worker"}
    names = {s.name for s in trace}
    assert "POST /graphql" in names, names
    assert any("UploadAudio" in name for name in names), names  # Strawberry: "GraphQL Query: UploadAudio"
    assert sum(1 for s in trace if s.service == "audiocity-worker") > 1, "the worker's database calls join it"
    assert os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") is None, "the test process itself exports nothing"
