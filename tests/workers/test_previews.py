"""Preview clips: queued by publishing, cut across files by the worker, shown in the catalog and served
to anyone over the public route, and never for drafts. Also `updateChapters` and `setPreview` through
the GraphQL schema."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette
from starlette.requests import Request
from workers.previews import cut_book_preview

from audiocity.audio import probe
from audiocity.auth.tokens import create_access_token
from audiocity.config import Settings
from audiocity.db import session_scope
from audiocity.events import Publisher
from audiocity.graphql.context import Context
from audiocity.graphql.relay import to_global_id
from audiocity.graphql.schema import build_schema
from audiocity.http.previews import preview_routes
from audiocity.models import Audiobook, AudiobookPreview, OutboxMessage, Role
from audiocity.services import accounts, audio_files, catalog, chapters
from audiocity.services.previews import clip_range
from audiocity.tasks import CUT_PREVIEW
from tests.app_resources import in_process_resources
from tests.workers.conftest import SECRET, Harness, tone_wav

PUBLIC_URL = "http://store.test"
BOOK = """query($id: ID!) { audiobook(id: $id) { published durationSeconds
  chapters { position title startSeconds endSeconds edited }
  preview { url startSeconds durationSeconds contentType } } }"""
UPDATE_CHAPTERS = """mutation($id: ID!, $chapters: [ChapterInput!]!) {
  updateChapters(audiobookId: $id, chapters: $chapters) {
    audiobook { chapters { title startSeconds endSeconds edited } } errors { code field message } } }"""
SET_PREVIEW = """mutation($id: ID!, $start: Float, $duration: Float) {
  setPreview(audiobookId: $id, startSeconds: $start, durationSeconds: $duration) {
    audiobook { id } errors { code field } } }"""


class Api:
    """The GraphQL schema and the preview route over the harness's database and storage."""

    def __init__(self, harness: Harness, admin_token: str) -> None:
        self.resources = in_process_resources(
            harness.sessions,
            harness.data_dir,
            SECRET,
            settings=Settings(AUDIOCITY_DATA_DIR=harness.data_dir, PUBLIC_URL=PUBLIC_URL, SECRET_KEY=SECRET),
            storage=harness.storage,
        )
        self.admin_token = admin_token
        self.schema = build_schema()
        app = Starlette(routes=preview_routes())
        app.state.resources = self.resources
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL)

    async def query(self, document: str, admin: bool = False, **variables: Any) -> dict[str, Any]:
        headers = [(b"authorization", f"Bearer {self.admin_token}".encode())] if admin else []
        request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
        result = await self.schema.execute(
            document, variable_values=variables, context_value=Context(resources=self.resources, request=request)
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data


@pytest.fixture
async def api(harness: Harness) -> Any:
    async with session_scope(harness.sessions) as s:
        admin = await accounts.create_user(s, f"{uuid.uuid4()}@example.com", "admin password", "A", Role.ADMIN)
    made = Api(harness, create_access_token(SECRET, admin.id, admin.role.value, 60))
    yield made
    await made.http.aclose()


async def _book(harness: Harness, tmp_path: Path) -> tuple[uuid.UUID, str]:
    book_id = await harness.book(
        [tone_wav(tmp_path / "one.wav", 10, [], seed=5), tone_wav(tmp_path / "two.wav", 8, [], seed=6)],
        title=f"Preview {uuid.uuid4()}",
    )
    async with session_scope(harness.sessions) as s:  # what uploads keep current
        book = await s.get(Audiobook, book_id)
        assert book is not None
        book.duration_seconds = await chapters.book_seconds(s, book_id)
    return book_id, to_global_id("Audiobook", book_id)


async def test_publish_queues_a_cut_across_files_served_publicly_and_hidden_for_drafts(
    harness: Harness, api: Api, tmp_path: Path
) -> None:
    book_id, gid = await _book(harness, tmp_path)
    assert (await api.query(SET_PREVIEW, admin=True, id=gid, start=8.0, duration=5.0))["setPreview"]["errors"] == []
    async with session_scope(harness.sessions) as s:
        await catalog.publish_audiobook(s, book_id, True)
        # the cut is promised in the publishing transaction (sent after the commit), not done by it
        queued = (await s.execute(select(OutboxMessage).where(OutboxMessage.actor_name == CUT_PREVIEW))).scalars()
        assert str(book_id) in [m.args[0] for m in queued]
        assert await s.get(AudiobookPreview, book_id) is not None  # the range chosen above, no clip yet
        assert (await s.get(AudiobookPreview, book_id)).storage_key is None  # type: ignore[union-attr]

    key = await cut_book_preview(harness.resources(), str(book_id))
    assert key is not None
    local = harness.storage.local_path(key)
    assert local is not None
    assert probe(local).duration_seconds == pytest.approx(5.0, abs=0.1)  # 2 s of the first file, 3 of the second

    preview = (await api.query(BOOK, id=gid))["audiobook"]["preview"]
    assert preview["startSeconds"] == 8.0 and preview["durationSeconds"] == pytest.approx(5.0, abs=0.01)
    assert preview["url"].startswith(f"{PUBLIC_URL}/previews/{book_id}?v=")
    answer = await api.http.get(preview["url"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/mp4"
    assert answer.content == local.read_bytes()
    assert answer.headers["cache-control"].startswith("public")

    # A new range re-cuts and replaces the clip (the old object is deleted).
    await api.query(SET_PREVIEW, admin=True, id=gid)  # back to the default: the first PREVIEW_SECONDS
    second = await cut_book_preview(harness.resources(PREVIEW_SECONDS=3), str(book_id))
    assert second is not None and second != key
    assert await harness.storage.stat(key) is None
    local = harness.storage.local_path(second)
    assert local is not None and probe(local).duration_seconds == pytest.approx(3.0, abs=0.1)

    # Unpublished: no preview for customers, nothing on the public route; admins still see it.
    async with session_scope(harness.sessions) as s:
        await catalog.publish_audiobook(s, book_id, False)
    assert (await api.query(BOOK, id=gid, admin=True))["audiobook"]["preview"]["url"].startswith("http")
    assert (await api.http.get(f"/previews/{book_id}")).status_code == 404
    assert await cut_book_preview(harness.resources(), str(book_id)) is None  # a draft is not cut


async def test_a_draft_never_gets_a_clip(harness: Harness, api: Api, tmp_path: Path) -> None:
    book_id, gid = await _book(harness, tmp_path)
    assert await cut_book_preview(harness.resources(), str(book_id)) is None
    async with harness.sessions() as s:
        assert await s.get(AudiobookPreview, book_id) is None
    assert (await api.query(BOOK, id=gid, admin=True))["audiobook"]["preview"] is None
    assert (await api.http.get(f"/previews/{book_id}")).status_code == 404
    assert (await api.http.get("/previews/not-a-book")).status_code == 404


async def test_set_preview_refuses_bad_ranges(harness: Harness, api: Api, tmp_path: Path) -> None:
    _, gid = await _book(harness, tmp_path)
    for start, duration, field in (
        (-1.0, None, "startSeconds"),
        (None, 0.5, "durationSeconds"),
        (0.0, 601.0, "durationSeconds"),
    ):
        errors = (await api.query(SET_PREVIEW, admin=True, id=gid, start=start, duration=duration))["setPreview"][
            "errors"
        ]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID", field)]


async def test_update_chapters_validates_persists_and_shows_on_the_book(
    harness: Harness, api: Api, tmp_path: Path
) -> None:
    book_id, gid = await _book(harness, tmp_path)  # 18 s of audio
    bad = [
        ([{"title": "Late", "startSeconds": 2.0}], "chapters.0.startSeconds"),
        ([{"title": "A", "startSeconds": 0.0}, {"title": "B", "startSeconds": 0.0}], "chapters.1.startSeconds"),
        ([{"title": "A", "startSeconds": 0.0}, {"title": "B", "startSeconds": 18.5}], "chapters.1.startSeconds"),
        ([{"title": "  ", "startSeconds": 0.0}], "chapters.0.title"),
    ]
    for wanted, field in bad:
        errors = (await api.query(UPDATE_CHAPTERS, admin=True, id=gid, chapters=wanted))["updateChapters"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID", field)], wanted
    async with harness.sessions() as s:
        assert await chapters.chapters_of(s, book_id) == []  # nothing half-written

    good = [{"title": "Opening", "startSeconds": 0.0}, {"title": " The  second file ", "startSeconds": 10.0}]
    result = (await api.query(UPDATE_CHAPTERS, admin=True, id=gid, chapters=good))["updateChapters"]
    assert result["errors"] == []
    expected = [
        {"title": "Opening", "startSeconds": 0.0, "endSeconds": 10.0, "edited": True},
        {"title": "The second file", "startSeconds": 10.0, "endSeconds": pytest.approx(18.0, abs=0.05), "edited": True},
    ]
    assert result["audiobook"]["chapters"] == expected
    async with harness.sessions() as s:
        stored = await chapters.chapters_of(s, book_id)
    assert [(c.position, c.title, c.start_seconds) for c in stored] == [
        (0, "Opening", 0.0),
        (1, "The second file", 10.0),
    ]

    # Customers may not edit chapters.
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    anonymous = await api.schema.execute(
        UPDATE_CHAPTERS,
        variable_values={"id": gid, "chapters": good},
        context_value=Context(resources=api.resources, request=request),
    )
    assert anonymous.errors and anonymous.errors[0].extensions
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"


def test_an_unchosen_clip_is_never_more_than_a_quarter_of_the_book() -> None:
    assert clip_range(None, 3600.0, 60.0) == (0.0, 60.0)
    assert clip_range(None, 40.0, 60.0) == (0.0, 10.0)  # a short book: a quarter of it, not all of it
    chosen = AudiobookPreview(audiobook_id=uuid.uuid4(), chosen_start_seconds=5.0, chosen_duration_seconds=30.0)
    assert clip_range(chosen, 40.0, 60.0) == (5.0, 30.0)  # an admin's range is theirs to choose
    assert clip_range(chosen, 20.0, 60.0) == (5.0, 15.0)  # but stays inside the audio


async def test_reordering_or_deleting_files_of_a_published_book_cuts_its_clip_again(
    harness: Harness, tmp_path: Path
) -> None:
    book_id, _gid = await _book(harness, tmp_path)

    async def cuts(s: Any) -> int:
        queued = (await s.execute(select(OutboxMessage).where(col(OutboxMessage.actor_name) == CUT_PREVIEW))).scalars()
        return [m.args[0] for m in queued].count(str(book_id))

    async with session_scope(harness.sessions) as s:
        files = await audio_files.files_of_book(s, book_id)
        await audio_files.reorder_audio_files(s, Publisher(harness.redis), book_id, [f.id for f in reversed(files)])
        assert await cuts(s) == 0  # a draft has no public clip to keep current
        await catalog.publish_audiobook(s, book_id, True)
        before = await cuts(s)
        await audio_files.reorder_audio_files(s, Publisher(harness.redis), book_id, [f.id for f in files])
        assert await cuts(s) == before + 1
        await audio_files.delete_audio_file(s, harness.storage, Publisher(harness.redis), files[1].id)
        assert await cuts(s) == before + 2
