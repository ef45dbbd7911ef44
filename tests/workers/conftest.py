"""Fixtures for the pipeline tests: the fake OpenAI server, resources on the test loop, small books.

Books are made of generated tones (several chunks of TRANSCRIPTION_CHUNK_SECONDS=4 each) so a job
takes well under a second of pipeline time. Each file uses its own noise seed, so no two chunks
have the same bytes and the fake's transcript ("chunk <sha1> of ...") names every chunk.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.limiter import KEY_PREFIX
from audiocity.audio import probe, split_for_transcription
from audiocity.config import Settings
from audiocity.db import session_scope
from audiocity.events import Publisher
from audiocity.mail import make_mailer
from audiocity.models import Audiobook, AudioFile, Job
from audiocity.payments import get_gateways
from audiocity.resources import WorkerResources, limiters_for, notice_config, token_config
from audiocity.services import catalog
from audiocity.services import jobs as job_service
from audiocity.services.catalog import AudiobookInput
from audiocity.storage import Storage, get_storage
from audiocity.tasks import TaskSender
from tests.fakes.openai_server import FakeOpenAI, default_transcript
from tests.fixtures.audio import tone, write_audio
from tests.processes import worker_env

CHUNK_SECONDS = 4
SECRET = "worker-tests-secret-key-0123456789abcdef"
# Silences a little before every 4 s boundary, so cuts land in them: ~3.6 s chunks.
TEN_SECONDS = [(3.4, 3.8), (7.0, 7.4)]
SIX_SECONDS = [(3.4, 3.8)]


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def with_db(url: str, db: int) -> str:
    """The same Redis on another logical database, so this module's queue is its own."""
    base, _, query = url.partition("?")  # not urlunsplit: it turns unix:///path into unix:/path
    options = dict(parse_qsl(query))
    options["db"] = str(db)
    return f"{base}?{urlencode(options)}"


@dataclass(frozen=True)
class ExpectedChunk:
    """What the pipeline will send for one chunk, worked out by cutting the source the same way."""

    file_name: str
    index: int
    start: float
    end: float
    sha1: str
    text: str


def expected_chunks(sources: list[Path], tmp: Path, chunk_seconds: float = CHUNK_SECONDS) -> list[ExpectedChunk]:
    found: list[ExpectedChunk] = []
    for n, source in enumerate(sources):
        for chunk in split_for_transcription(source, tmp / f"expected-{n}-{source.stem}", chunk_seconds):
            data = chunk.path.read_bytes()
            found.append(
                ExpectedChunk(
                    source.name,
                    chunk.index,
                    chunk.start_seconds,
                    chunk.end_seconds,
                    sha1(data),
                    default_transcript(data, chunk.path.name),
                )
            )
    return found


def tone_wav(path: Path, seconds: float, silences: list[tuple[float, float]], seed: int) -> Path:
    return write_audio(path, tone(seconds, silences, seed=seed))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_fake(fake: FakeOpenAI) -> None:
    fake.reset()


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    """Two files: 10 s (3 chunks) then 6 s (2 chunks)."""
    return [
        tone_wav(tmp_path / "part-1.wav", 10, TEN_SECONDS, seed=1),
        tone_wav(tmp_path / "part-2.wav", 6, SIX_SECONDS, seed=2),
    ]


def make_settings(fake: FakeOpenAI, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_TRANSCRIPTION_MODEL": "whisper-1",
        "OPENAI_TIMEOUT_SECONDS": 30,
        "TRANSCRIPTION_CHUNK_SECONDS": CHUNK_SECONDS,
        "TRANSCRIPTION_CONCURRENCY": 8,
        "JOB_MAX_RETRIES": 2,
        # Small waits between a request's tries, and a short slow-down after a 429, so tests stay fast.
        "AI_REQUEST_MAX_ATTEMPTS": 3,
        "AI_REQUEST_MIN_BACKOFF_MS": 20,
        "AI_REQUEST_MAX_BACKOFF_MS": 200,
        "AI_RATE_LIMIT_COOLDOWN_SECONDS": 1,
        "AUDIOCITY_DATA_DIR": str(data_dir),
        "SECRET_KEY": SECRET,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    """Builds resources like a worker's, on the test's loop, with settings the test can change."""

    fake: FakeOpenAI
    data_dir: Path
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    storage: Storage
    made: list[WorkerResources] = field(default_factory=list)

    def resources(self, **overrides: Any) -> WorkerResources:
        settings = make_settings(self.fake, self.data_dir, **overrides)
        transcriber, summarizer = get_transcriber(settings), get_summarizer(settings)
        res = WorkerResources(
            settings=settings,
            engine=self.engine,
            sessions=self.sessions,
            storage=self.storage,
            events=Publisher(self.redis),
            gateways=get_gateways(settings),
            tasks=TaskSender(),
            tokens=token_config(settings),
            transcriber=transcriber,
            summarizer=summarizer,
            mailer=make_mailer(None, settings.mail_from, settings.outbox_dir),
            notices=notice_config(settings),
            limiters=limiters_for(self.redis, settings, transcriber.name, summarizer.name),
        )
        self.made.append(res)
        return res

    async def close(self) -> None:
        for res in self.made:
            for client in (res.transcriber, res.summarizer):
                close = getattr(client, "aclose", None)
                if close is not None:
                    await close()

    async def book(self, sources: list[Path], title: str = "A Test Book") -> uuid.UUID:
        """An audiobook with `sources` stored as its files, in that order."""
        async with session_scope(self.sessions) as session:
            book = await catalog.create_audiobook(session, AudiobookInput(title=title, price_cents=100))
            for position, source in enumerate(sources):
                await self.add_file(session, book, source, position)
            return book.id

    async def add_file(
        self, session: AsyncSession, book: Audiobook, source: Path, position: int, duration: float | None = None
    ) -> AudioFile:
        file_id = uuid.uuid4()
        key = f"audiobooks/{book.id}/files/{file_id}{source.suffix}"
        stored = await self.storage.write(key, _read(source), "audio/wav")
        audio_file = AudioFile(
            id=file_id,
            audiobook_id=book.id,
            position=position,
            file_name=source.name,
            content_type="audio/wav",
            size_bytes=stored.size,
            duration_seconds=probe(source).duration_seconds if duration is None else duration,
            storage_key=key,
        )
        session.add(audio_file)
        await session.flush()
        return audio_file

    async def queue(self, book_id: uuid.UUID) -> str:
        """A queued job for the book (what the upload services create), without sending a message."""
        async with session_scope(self.sessions) as session:
            job, _new = await job_service.queue_transcription(session, book_id)
            return str(job.id)

    async def job(self, job_id: str) -> Job:
        async with self.sessions() as session:
            job = await session.get(Job, uuid.UUID(job_id))
            assert job is not None
            return job

    async def book_row(self, book_id: uuid.UUID) -> Audiobook:
        async with self.sessions() as session:
            book = await session.get(Audiobook, book_id)
            assert book is not None
            return book


async def _read(path: Path) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(path.read_bytes)


@pytest.fixture
async def harness(
    fake: FakeOpenAI,
    tmp_path: Path,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> AsyncIterator[Harness]:
    data_dir = tmp_path / "data"
    client = aioredis.Redis.from_url(redis_url)
    storage = get_storage(make_settings(fake, data_dir))
    made = Harness(fake, data_dir, engine, sessions, client, storage)
    for key in await client.keys(KEY_PREFIX + "*"):  # no slow-down left over from another test
        await client.delete(key)
    yield made
    await made.close()
    await client.aclose()


def pipeline_worker_env(
    harness: Harness, fake: FakeOpenAI, database_url: str, queue_url: str, **extra: str
) -> dict[str, str]:
    """An `audiocity worker` process's environment: the harness's database, storage and secret, the
    given queue, and the real pipeline on the fake OpenAI."""
    return worker_env(
        DATABASE_URL=database_url,
        REDIS_URL=queue_url,
        AUDIOCITY_DATA_DIR=str(harness.data_dir),  # the same local storage as the test's
        SECRET_KEY=SECRET,
        OPENAI_API_KEY="test",
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_TRANSCRIPTION_MODEL="whisper-1",
        TRANSCRIPTION_CHUNK_SECONDS=str(CHUNK_SECONDS),
        WORKER_THREADS="1",
        **extra,
    )
