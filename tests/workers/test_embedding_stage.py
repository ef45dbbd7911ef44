"""The embedding stage against the fake OpenAI server: progress, usage, resuming; and meaning search
through an OpenAI-compatible embeddings endpoint on loopback (the fake computes its vectors with the
local all-MiniLM-L6-v2, so meaning is real)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from workers.embedding import refresh_book
from workers.transcription import run_transcription

from audiocity.ai import get_embedder
from audiocity.ai.local_embeddings import load_model
from audiocity.ai.query_embeddings import QueryEmbedder
from audiocity.db import session_scope
from audiocity.models import Embedding, JobStatus, OutboxMessage
from audiocity.services import catalog, embeddings, semantic
from audiocity.tasks import REFRESH_EMBEDDINGS
from tests.factories import make_published_book, unique
from tests.fakes.openai_server import FakeOpenAI
from tests.workers.conftest import Harness

pytestmark = pytest.mark.usefixtures("requires_pgvector")  # meaning search needs pgvector

MODEL = "text-embedding-3-small"


class RecordingEvents:
    """Stands in for the worker's publisher: keeps every job event."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        self.payloads.append(payload)


def local_vectors(texts: list[str], dimensions: int) -> list[list[float]]:
    assert dimensions == 384
    return [[float(x) for x in row] for row in load_model().encode(texts)]


async def stored(harness: Harness, book_id: uuid.UUID) -> list[Embedding]:
    async with harness.sessions() as s:
        rows = await s.execute(select(Embedding).where(Embedding.audiobook_id == book_id))  # type: ignore[arg-type]
        return list(rows.scalars())


def inputs(fake: FakeOpenAI) -> list[str]:
    return [text for r in fake.requests_for("embeddings") for text in r.fields["input"]]


async def test_the_stage_embeds_after_the_summary_and_a_rerun_sends_only_what_is_missing(
    harness: Harness, fake: FakeOpenAI, sources: list[Path]
) -> None:
    res = harness.resources(EMBEDDING_BATCH_SIZE=1, AI_REQUEST_MAX_ATTEMPTS=2)
    res.embedder = get_embedder(res.settings)
    events = RecordingEvents()
    res.events = events
    calls = 0

    def first_then_refuse(texts: list[str], dimensions: int) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls == 1:  # the next request is refused (400): the job fails after one stored vector
            fake.fail_next("embeddings", "400")
        return local_vectors(texts, dimensions)

    fake.embeddings_for = first_then_refuse
    book_id = await harness.book(sources)
    job_id = await harness.queue(book_id)
    await run_transcription(res, job_id)

    failed = await harness.job(job_id)
    assert failed.status == JobStatus.FAILED and "embeddings 2-2 of 3" in (failed.error or "")
    kept = await stored(harness, book_id)
    assert [(e.kind, e.position, e.provider, e.model) for e in kept] == [("book", 0, "openai", MODEL)]
    first_run = inputs(fake)
    assert len(first_run) == 2  # one stored, one refused
    requests = fake.requests_for("embeddings")
    assert all(r.fields["dimensions"] == 384 and r.model == MODEL for r in requests)
    transcriptions = len(fake.requests_for("transcriptions"))

    events.payloads.clear()
    again = await harness.queue(book_id)
    await run_transcription(res, again)

    job = await harness.job(again)
    assert (job.status, job.stage, job.progress) == (JobStatus.SUCCEEDED, "done", 1.0)
    assert job.message is not None and job.message.endswith("Meaning search is ready.")
    assert len(fake.requests_for("transcriptions")) == transcriptions, "finished chunks are not sent again"
    second_run = inputs(fake)[len(first_run) :]
    rows = await stored(harness, book_id)
    assert len(rows) == 3 and sorted((e.kind, e.position) for e in rows) == [
        ("book", 0),
        ("passage", 0),
        ("passage", 1),
    ]
    assert len(second_run) == 2 and kept[0].text not in second_run, "the stored vector is not computed again"
    assert job.usage["embedding"][f"openai/{MODEL}"]["requests"] == 2
    assert job.usage["embedding"][f"openai/{MODEL}"]["texts"] == 2
    stages = [(p["stage"], p["progress"]) for p in events.payloads if p["stage"] == "embedding"]
    assert [progress for _stage, progress in stages] == [0.96, 0.98, 0.99]  # 1 of 3 done, then 2, then 3

    # a third run finds everything embedded and sends nothing
    before = len(inputs(fake))
    await run_transcription(res, await harness.queue(book_id))
    assert len(inputs(fake)) == before


async def test_meaning_search_through_an_openai_compatible_server(harness: Harness, fake: FakeOpenAI) -> None:
    fake.embeddings_for = local_vectors
    settings = harness.resources().settings
    embedder = get_embedder(settings)
    category = unique("Loopback")
    summaries = {
        "The Last Voyage": "A ship captain fights to keep his crew alive when a violent storm tears through the "
        "ocean and the vessel begins to take on water.",
        "Rue Cler": "A young pastry chef opens a small bakery in Paris and falls for the violinist upstairs.",
        "The Vault Job": "Four retired thieves plan one last robbery of a bank vault in Zurich.",
    }
    async with session_scope(harness.sessions) as s:
        for title, summary in summaries.items():
            book = await make_published_book(s, title=title, categories=[category])
            book.summary = summary
            await s.flush()
            pending, total = await embeddings.pending_items(s, book.id, embedder.name, embedder.model)
            assert total == 1
            result = await embedder.embed([item.content for item in pending])
            await embeddings.save_vectors(s, book.id, embedder.name, embedder.model, pending, result.vectors)
    queries = QueryEmbedder(settings)
    assert (queries.provider, queries.model) == ("openai", MODEL)
    sent = len(fake.requests_for("embeddings"))
    vector = await queries.vector("A sailor lost at sea")
    assert await queries.vector("a  sailor lost at SEA") == vector, "the same query comes from the cache"
    assert len(fake.requests_for("embeddings")) == sent + 1 and queries.computed == 1
    async with harness.sessions() as s:
        page = await semantic.semantic_page(
            s, vector=vector, provider="openai", model=MODEL, text_query="a sailor lost at sea", first=10,
            after=None, flt=catalog.CatalogFilter(category=category),
        )  # fmt: skip
        # the local model's vectors of the same books are another model's: never compared with these
        local = await semantic.semantic_page(
            s, vector=vector, provider="local", model="all-MiniLM-L6-v2", text_query="x", first=10, after=None,
            flt=catalog.CatalogFilter(category=category),
        )  # fmt: skip
        count = await s.scalar(select(func.count()).select_from(Embedding).where(Embedding.model == MODEL))  # type: ignore[arg-type]
    assert page.items[0].title == "The Last Voyage"
    assert page.total_count == 3 and local.total_count == 0 and count is not None and count >= 3


async def test_an_edit_re_embeds_only_the_book_text(harness: Harness, fake: FakeOpenAI, sources: list[Path]) -> None:
    res = harness.resources()
    res.embedder = get_embedder(res.settings)
    fake.embeddings_for = local_vectors
    book_id = await harness.book(sources)
    await run_transcription(res, await harness.queue(book_id))
    before = {(e.kind, e.position): e.content_sha1 for e in await stored(harness, book_id)}
    assert len(before) == 3

    async with session_scope(harness.sessions) as s:
        await catalog.update_audiobook(s, book_id, catalog.AudiobookInput(price_cents=700))
        unchanged = (
            await s.execute(select(OutboxMessage).where(col(OutboxMessage.actor_name) == REFRESH_EMBEDDINGS))
        ).all()
        await catalog.update_audiobook(s, book_id, catalog.AudiobookInput(title="A New Title"))
        queued = (
            (
                await s.execute(
                    select(col(OutboxMessage.args)).where(col(OutboxMessage.actor_name) == REFRESH_EMBEDDINGS)
                )
            )
            .scalars()
            .all()
        )
    assert unchanged == []  # a price change does not touch what meaning search reads
    assert [str(book_id)] in [list(a) for a in queued]

    sent = len(inputs(fake))
    assert await refresh_book(res, str(book_id)) == 1
    new_inputs = inputs(fake)[sent:]
    assert len(new_inputs) == 1 and new_inputs[0].startswith("A New Title")
    after = {(e.kind, e.position): e.content_sha1 for e in await stored(harness, book_id)}
    assert after[("book", 0)] != before[("book", 0)]
    assert {k: v for k, v in after.items() if k[0] == "passage"} == {
        k: v for k, v in before.items() if k[0] == "passage"
    }
    assert await refresh_book(res, str(book_id)) == 0  # nothing stale any more
