"""Pieces the live-update tests share: a gated fake OpenAI, a worker process, GraphQL operations."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiocity.graphql.relay import from_global_id
from tests import processes
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server
from tests.fakes.openai_server import FakeOpenAI, default_transcript
from tests.fixtures.audio import tone_file

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  accessToken user { id role } errors { code message } } }"""
LOGIN_WITH_USER = """mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken user { id role } errors { code message } } }"""
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken errors { code message } } }"""
CREATE_BOOK = """mutation($title: String!) { createAudiobook(input: {title: $title, priceCents: 500, currency: "USD"}) {
  audiobook { id } errors { code message } } }"""
UPLOAD = """mutation($audiobookId: ID!, $file: Upload!) { uploadAudioFile(audiobookId: $audiobookId, file: $file) {
  job { id status } errors { code message } } }"""
JOB_FIELDS = "status progress stage message sequence job { id chunksTotal chunksDone }"
JOB_BY_ID = "subscription($jobId: ID) { jobUpdates(jobId: $jobId) { " + JOB_FIELDS + " } }"
JOB_BY_BOOK = "subscription($audiobookId: ID) { jobUpdates(audiobookId: $audiobookId) { " + JOB_FIELDS + " } }"
ORDER_UPDATES = "subscription($orderId: ID!) { orderUpdates(orderId: $orderId) { id status } }"

PASSWORD = "correct horse battery staple"
CHUNKS = 6  # the tone below cuts into six chunks of at most 2 s


class Gate:
    """Holds every transcription request until the test lets it through, so a job moves on cue.

    The fake answers inside its own event loop, so a held request holds the fake: fine with one
    request at a time (TRANSCRIPTION_CONCURRENCY=1).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._permits = 0
        self._open = False

    def allow(self, requests: int = 1) -> None:
        with self._cond:
            self._permits += requests
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._permits = 0

    def transcript_for(self, data: bytes, filename: str) -> str:
        with self._cond:
            if not self._cond.wait_for(lambda: self._open or self._permits > 0, timeout=60):
                raise RuntimeError("the test never let this transcription through")
            if not self._open:
                self._permits -= 1
        return default_transcript(data, filename)


@contextmanager
def gated_openai() -> Iterator[tuple[FakeOpenAI, Gate]]:
    gate = Gate()
    with FakeOpenAI(transcript_for=gate.transcript_for) as fake:
        try:
            yield fake, gate
        finally:
            gate.open()


def worker_env(server: Server, fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    """The API's environment (same database, Redis, storage) plus the real pipeline on the fake."""
    return processes.worker_env(
        server.env,
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=fake.base_url,
        TRANSCRIPTION_CHUNK_SECONDS="2",
        TRANSCRIPTION_CONCURRENCY="1",
        WORKER_THREADS="1",
        JOB_MAX_RETRIES="0",
        AI_REQUEST_MIN_BACKOFF_MS="50",
        AI_REQUEST_MAX_BACKOFF_MS="500",
        AI_RATE_LIMIT_COOLDOWN_SECONDS="1",
        **extra,
    )


@contextmanager
def run_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`audiocity worker` as its own process, as deployed, once it says it is running."""
    with processes.worker_process(env, log_path) as process:
        deadline = time.monotonic() + 60
        while "worker running" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield process


def db_id(global_id: str) -> uuid.UUID:
    return from_global_id(global_id)[1]


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(gql: GraphQLClient, prefix: str = "reader") -> dict[str, Any]:
    """A new customer: returns the `register` payload (token and user)."""
    email = unique_email(prefix)
    data = await gql(REGISTER, input={"email": email, "password": PASSWORD, "displayName": "R"})
    assert data["register"]["errors"] == [], data
    payload: dict[str, Any] = (await gql(LOGIN_WITH_USER, email=email, password=PASSWORD))["login"]
    assert payload["errors"] == [], payload
    return payload


async def admin_token(server: Server, gql: GraphQLClient) -> str:
    email = unique_email("admin")
    made = server.cli("create-admin", "--email", email, "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    login = (await gql(LOGIN, email=email, password=PASSWORD))["login"]
    assert login["errors"] == [], login
    return str(login["accessToken"])


async def create_book(admin: GraphQLClient) -> str:
    created = (await admin(CREATE_BOOK, title=f"Live {uuid.uuid4().hex[:6]}"))["createAudiobook"]
    assert created["errors"] == [], created
    return str(created["audiobook"]["id"])


async def upload_tone(admin: GraphQLClient, book_id: str, tmp_dir: Path) -> str:
    """Upload ten seconds of tone (six chunks); the upload queues the job. Returns the job id."""
    path = tone_file(tmp_dir / f"{uuid.uuid4().hex[:8]}.mp3", 10, [(1.7, 2.1), (3.7, 4.1), (5.7, 6.1), (7.7, 8.1)])
    body = await admin.upload(UPLOAD, {"audiobookId": book_id}, "file", path, "audio/mpeg")
    assert "errors" not in body, body
    result = body["data"]["uploadAudioFile"]
    assert result["errors"] == [], result
    return str(result["job"]["id"])


def step(event: dict[str, Any]) -> tuple[Any, ...]:
    """What must match between two views of the same job event."""
    return (
        event["sequence"],
        event["status"],
        event["stage"],
        event["progress"],
        event["message"],
        event["job"]["chunksDone"],
    )


@dataclass
class Collected:
    """Events one subscriber saw, and whether its stream completed."""

    events: list[dict[str, Any]]
    completed: bool = False
