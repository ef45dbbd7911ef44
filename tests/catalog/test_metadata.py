"""Catalog metadata over real HTTP against one `audiocity serve` process: series, year, publisher and
ISBN; uploaded covers with thumbnails in storage; admin-managed categories; "all books by X"; and
`deleteAudiobook` soft (owners keep the book) versus hard (no rows, no objects left).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity.auth.tokens import create_access_token
from audiocity.db import session_scope
from audiocity.graphql.relay import to_global_id
from audiocity.models import Audiobook, AudiobookContributor, AudioFile, Role, User
from audiocity.services import catalog, entitlements
from audiocity.services.catalog import AudiobookInput
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.factories import make_user, unique

MAX_COVER_BYTES = 300_000
MAX_COVER_PIXELS = 4_000_000

METADATA = """id title authors narrators series { id name } seriesPosition publishedYear publisher isbn
  coverUrl cover { url width height thumbnails { url width height } thumbnail(minWidth: 300) { width } }
  categories { name slug }"""
CREATE = f"""mutation($input: AudiobookInput!) {{ createAudiobook(input: $input) {{
  audiobook {{ {METADATA} }} errors {{ code field message }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: AudiobookInput!) {{ updateAudiobook(id: $id, input: $input) {{
  audiobook {{ {METADATA} }} errors {{ code field message }} }} }}"""
BOOK = f"""query($id: ID!) {{ audiobook(id: $id) {{ {METADATA} }} }}"""
UPLOAD_COVER = f"""mutation($id: ID!, $file: Upload!) {{ uploadCover(audiobookId: $id, file: $file) {{
  audiobook {{ {METADATA} }} errors {{ code field message }} }} }}"""
PAGE = """query($filter: AudiobookFilter, $search: String) { audiobooks(first: 50, filter: $filter, search: $search) {
  totalCount edges { node { id title authors narrators coverUrl cover { width } series { name } } } } }"""
SERIES = """query($id: ID!) { node(id: $id) { ... on Series { name audiobooks { title seriesPosition } } } }"""
CREATE_CATEGORY = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
  category { id name slug } errors { code field message } } }"""
RENAME_CATEGORY = """mutation($id: ID!, $name: String!) { renameCategory(id: $id, name: $name) {
  category { id name slug } errors { code field message } } }"""
DELETE_CATEGORY = """mutation($id: ID!) { deleteCategory(id: $id) { deletedId errors { code field message } } }"""
CATEGORIES = "{ categories { id name slug } }"
DELETE = """mutation($id: ID!) { deleteAudiobook(id: $id) { deletedId softDeleted errors { code field } } }"""
LIBRARY = """{ library(first: 100) { edges { node { audiobook { id title } downloads { kind url } } } } }"""
PUBLISH = """mutation($id: ID!) { publishAudiobook(id: $id, published: true) { errors { code } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("metadata-app")
    with run_server(
        data_dir, database_url, redis_url, IN_PROCESS_WORKER="0",
        MAX_COVER_BYTES=str(MAX_COVER_BYTES), MAX_COVER_PIXELS=str(MAX_COVER_PIXELS),
    ) as running:  # fmt: skip
        yield running


@pytest.fixture
async def admin(sessions: async_sessionmaker[AsyncSession]) -> User:
    async with session_scope(sessions) as s:
        return await make_user(s, Role.ADMIN)


def client_for(server: Server, http: httpx.AsyncClient, user: User | None) -> GraphQLClient:
    token = create_access_token(server.env["SECRET_KEY"], user.id, user.role.value, 900) if user else None
    return GraphQLClient(http, server.graphql_url, token)


def storage_root(server: Server) -> Path:
    return Path(server.env["AUDIOCITY_DATA_DIR"]) / "storage"


def objects_of(server: Server, book_id: uuid.UUID) -> list[Path]:
    folder = storage_root(server) / "audiobooks" / str(book_id)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    image = Image.new(mode, (width, height), "white" if mode == "1" else (200, 40, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def upload(
    client: GraphQLClient, book_id: str, data: bytes, name: str = "cover.png", mime: str = "image/png"
) -> dict[str, Any]:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{uuid.uuid4().hex}-{name}"
    path.write_bytes(data)
    try:
        body = await client.upload(UPLOAD_COVER, {"id": book_id}, "file", path, mime)
    finally:
        path.unlink()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadCover"]
    return result


async def published_book(sessions: async_sessionmaker[AsyncSession], server: Server, **fields: Any) -> Audiobook:
    """A published book with one audio file whose bytes are in the server's storage."""
    async with session_scope(sessions) as s:
        book = await catalog.create_audiobook(s, AudiobookInput(title=unique("Meta"), price_cents=500, **fields))
        file_id = uuid.uuid4()
        key = f"audiobooks/{book.id}/files/{file_id}.mp3"
        s.add(
            AudioFile(
                id=file_id, audiobook_id=book.id, position=0, file_name="part-1.mp3", content_type="audio/mpeg",
                size_bytes=11, duration_seconds=1.0, storage_key=key,
            )
        )  # fmt: skip
        await s.flush()
        await catalog.publish_audiobook(s, book.id, True)
    path = storage_root(server) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"audio-bytes")
    return book


# --- metadata ---------------------------------------------------------------------------------------


async def test_metadata_round_trip_and_bad_isbn(server: Server, http: httpx.AsyncClient, admin: User) -> None:
    client = client_for(server, http, admin)
    series = unique("Meridian Saga")
    created = (
        await client(
            CREATE,
            input={
                "title": "Meridian Voyage",
                "priceCents": 900,
                "authors": ["Ada Quill"],
                "narrators": ["Ben Vox"],
                "series": series,
                "seriesPosition": 2,
                "publishedYear": 1998,
                "publisher": "Harbor House",
                "isbn": "0-306-40615-2",
            },
        )
    )["createAudiobook"]
    assert created["errors"] == []
    book = created["audiobook"]
    assert book["series"]["name"] == series
    assert (book["seriesPosition"], book["publishedYear"], book["publisher"]) == (2.0, 1998, "Harbor House")
    assert book["isbn"] == "9780306406157"  # the ISBN-10 stored as its ISBN-13
    assert book["cover"] is None and book["coverUrl"] is None

    prequel = (
        await client(CREATE, input={"title": "Meridian Dawn", "priceCents": 100, "series": series.upper(),
                                    "seriesPosition": 1})
    )["createAudiobook"]["audiobook"]  # fmt: skip
    assert prequel["series"] == book["series"]  # the same series whatever the case

    changed = (
        await client(UPDATE, id=book["id"], input={"isbn": "978-1-4028-9462-6", "publisher": "", "publishedYear": 2001})
    )["updateAudiobook"]
    assert changed["errors"] == []
    fetched = (await client(BOOK, id=book["id"]))["audiobook"]
    assert (fetched["isbn"], fetched["publisher"], fetched["publishedYear"]) == ("9781402894626", None, 2001)
    assert fetched["series"]["name"] == series and fetched["authors"] == ["Ada Quill"]

    for bad in ("0-306-40615-3", "9780306406158", "12345", "not an isbn"):
        refused = (await client(UPDATE, id=book["id"], input={"isbn": bad, "title": "Changed"}))["updateAudiobook"]
        assert refused["audiobook"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "isbn")], bad
    kept = (await client(BOOK, id=book["id"]))["audiobook"]
    assert (kept["title"], kept["isbn"]) == ("Meridian Voyage", "9781402894626")  # nothing half-written

    title = unique("Never created")
    refused = await client(CREATE, input={"title": title, "priceCents": 1, "isbn": "978-0-306-40615-8"})
    assert refused["createAudiobook"]["errors"][0]["field"] == "isbn"
    assert (await client(PAGE, search=title))["audiobooks"]["totalCount"] == 0

    # Drafts are not listed through their series, not even to admins.
    series_page = (await client(SERIES, id=book["series"]["id"]))["node"]
    assert series_page == {"name": series, "audiobooks": []}


async def test_series_lists_published_books_in_order(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    series = unique("Saga")
    second = await published_book(sessions, server, series=series, series_position=2)
    first = await published_book(sessions, server, series=series, series_position=1)
    series_id = to_global_id("Series", first.series_id)
    listed = (await client_for(server, http, None)(SERIES, id=series_id))["node"]
    assert listed == {
        "name": series,
        "audiobooks": [{"title": first.title, "seriesPosition": 1.0}, {"title": second.title, "seriesPosition": 2.0}],
    }
    page = await client_for(server, http, None)(PAGE, filter={"series": series.lower()})
    assert {e["node"]["id"] for e in page["audiobooks"]["edges"]} == {
        to_global_id("Audiobook", first.id),
        to_global_id("Audiobook", second.id),
    }
    assert all(e["node"]["series"] == {"name": series} for e in page["audiobooks"]["edges"])


async def test_books_by_author_and_narrator(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User
) -> None:
    author, narrator = unique("Ada Quill"), unique("Ben Vox")
    one = await published_book(sessions, server, authors=[author, "Someone Else"], narrators=[narrator])
    two = await published_book(sessions, server, authors=["Co Author", author.upper()])
    await published_book(sessions, server, authors=[author + " Jr"], narrators=[author])  # not by the author
    anonymous = client_for(server, http, None)

    page = (await anonymous(PAGE, filter={"author": author.lower()}))["audiobooks"]
    assert page["totalCount"] == 2
    assert {e["node"]["id"] for e in page["edges"]} == {to_global_id("Audiobook", b.id) for b in (one, two)}
    by_id = {e["node"]["id"]: e["node"] for e in page["edges"]}
    assert by_id[to_global_id("Audiobook", two.id)]["authors"] == ["Co Author", author.upper()]  # as credited

    narrated = (await anonymous(PAGE, filter={"narrator": f"  {narrator.upper()} "}))["audiobooks"]
    assert [e["node"]["id"] for e in narrated["edges"]] == [to_global_id("Audiobook", one.id)]

    # The credits are rows, kept in step with the book's lists by updateAudiobook.
    client = client_for(server, http, admin)
    await client(UPDATE, id=to_global_id("Audiobook", one.id), input={"authors": ["Someone Else"]})
    page = (await anonymous(PAGE, filter={"author": author}))["audiobooks"]
    assert [e["node"]["id"] for e in page["edges"]] == [to_global_id("Audiobook", two.id)]
    async with sessions() as s:
        credits = (
            await s.execute(
                select(col(AudiobookContributor.role), col(AudiobookContributor.position))
                .where(col(AudiobookContributor.audiobook_id) == one.id)
                .order_by(col(AudiobookContributor.role), col(AudiobookContributor.position))
            )
        ).all()
    assert [(r.value, p) for r, p in credits] == [("AUTHOR", 0), ("NARRATOR", 0)]


# --- covers ---------------------------------------------------------------------------------------


async def test_cover_upload_makes_thumbnails_served_publicly(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User
) -> None:
    book = await published_book(sessions, server)
    book_id = to_global_id("Audiobook", book.id)
    client = client_for(server, http, admin)

    result = await upload(client, book_id, png(1000, 750))
    assert result["errors"] == []
    cover = result["audiobook"]["cover"]
    assert (cover["width"], cover["height"]) == (1000, 750)
    assert [(t["width"], t["height"]) for t in cover["thumbnails"]] == [(160, 120), (320, 240), (640, 480)]
    assert cover["thumbnail"] == {"width": 320}
    assert result["audiobook"]["coverUrl"] == cover["url"]

    stored = objects_of(server, book.id)
    covers = [p for p in stored if "/cover/" in p.as_posix()]
    assert sorted(p.name for p in covers) == ["160.webp", "320.webp", "640.webp", "full.webp"]
    for path in covers:
        with Image.open(path) as image:
            assert image.format == "WEBP"
            assert image.width == (1000 if path.stem == "full" else int(path.stem))

    # Anyone may fetch them (no purchase), through the same signed file route as downloads.
    anonymous = client_for(server, http, None)
    seen = (await anonymous(BOOK, id=book_id))["audiobook"]["cover"]
    for image_info in [seen, *seen["thumbnails"]]:
        response = await http.get(image_info["url"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.size == (image_info["width"], image_info["height"])
    listed = (await anonymous(PAGE, filter={"author": None}, search=None))["audiobooks"]["edges"]
    mine = next(e["node"] for e in listed if e["node"]["id"] == book_id)
    assert mine["cover"] == {"width": 1000} and mine["coverUrl"] == seen["url"]

    # Replacing the cover deletes the old objects; the old links stop working.
    replaced = await upload(client, book_id, png(200, 300))
    assert replaced["errors"] == []
    new_cover = replaced["audiobook"]["cover"]
    assert (new_cover["width"], new_cover["height"]) == (200, 300)
    assert [(t["width"], t["height"]) for t in new_cover["thumbnails"]] == [(160, 240)]  # never upscaled
    remaining = [p for p in objects_of(server, book.id) if "/cover/" in p.as_posix()]
    assert sorted(p.name for p in remaining) == ["160.webp", "full.webp"]
    assert not any(p in remaining for p in covers)
    assert (await http.get(seen["url"])).status_code in (403, 404)
    assert (await http.get(new_cover["url"])).status_code == 200


async def test_draft_covers_are_not_public(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User
) -> None:
    async with session_scope(sessions) as s:
        draft = await catalog.create_audiobook(s, AudiobookInput(title=unique("Draft"), price_cents=1))
    draft_id = to_global_id("Audiobook", draft.id)
    cover = (await upload(client_for(server, http, admin), draft_id, png(400, 400)))["audiobook"]["cover"]
    assert (await http.get(cover["url"])).status_code == 403
    assert (await client_for(server, http, None)(BOOK, id=draft_id))["audiobook"] is None


@pytest.mark.parametrize(
    ("case", "code"),
    [("text", "UNSUPPORTED_FORMAT"), ("truncated", "UNSUPPORTED_FORMAT"), ("bytes", "FILE_TOO_LARGE"),
     ("pixels", "FILE_TOO_LARGE")],
)  # fmt: skip
async def test_bad_covers_are_refused_leaving_nothing(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User,
    case: str, code: str,
) -> None:  # fmt: skip
    book = await published_book(sessions, server)
    before = objects_of(server, book.id)
    data = {
        "text": b"this is not an image at all\n" * 10,
        "truncated": png(300, 300)[:120],
        "bytes": os.urandom(MAX_COVER_BYTES + 1),
        "pixels": png(2500, 2000, mode="1"),  # 5 megapixels in a few kilobytes: refused before decoding
    }[case]
    if case == "pixels":
        assert len(data) < MAX_COVER_BYTES
    result = await upload(client_for(server, http, admin), to_global_id("Audiobook", book.id), data)
    assert result["audiobook"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, "file")]
    assert objects_of(server, book.id) == before  # no cover objects written
    async with sessions() as s:
        row = await s.get(Audiobook, book.id)
        assert row is not None and row.cover_key is None


# --- categories ----------------------------------------------------------------------------------


async def test_category_management(server: Server, http: httpx.AsyncClient, admin: User) -> None:
    client = client_for(server, http, admin)
    name = unique("Sea Stories")
    created = (await client(CREATE_CATEGORY, input={"name": name}))["createCategory"]
    assert created["errors"] == []
    category = created["category"]
    assert category["slug"] == name.lower().replace(" ", "-")

    duplicate = (await client(CREATE_CATEGORY, input={"name": name.upper()}))["createCategory"]
    assert duplicate["category"] is None and duplicate["errors"][0]["code"] == "DUPLICATE"
    slug_clash = await client(CREATE_CATEGORY, input={"name": unique("Other"), "slug": category["slug"]})
    assert slug_clash["createCategory"]["errors"][0]["code"] == "DUPLICATE"
    empty = (await client(CREATE_CATEGORY, input={"name": "   "}))["createCategory"]
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("INVALID", "name")]

    book = await client(CREATE, input={"title": unique("Shelved"), "priceCents": 1, "categories": [name]})
    book_id = book["createAudiobook"]["audiobook"]["id"]
    assert book["createAudiobook"]["audiobook"]["categories"] == [{"name": name, "slug": category["slug"]}]

    new_name = unique("Ocean Tales")
    renamed = (await client(RENAME_CATEGORY, id=category["id"], name=new_name))["renameCategory"]
    assert renamed["errors"] == []
    assert renamed["category"] == {"id": category["id"], "name": new_name, "slug": new_name.lower().replace(" ", "-")}
    assert (await client(BOOK, id=book_id))["audiobook"]["categories"][0]["name"] == new_name
    # the renamed category is found by its new name when shelving, not created twice
    again = (await client(UPDATE, id=book_id, input={"categories": [new_name]}))["updateAudiobook"]
    assert again["errors"] == [] and len(again["audiobook"]["categories"]) == 1

    other = (await client(CREATE_CATEGORY, input={"name": unique("Other")}))["createCategory"]["category"]
    clash = (await client(RENAME_CATEGORY, id=other["id"], name=new_name.lower()))["renameCategory"]
    assert clash["category"] is None and clash["errors"][0]["code"] == "DUPLICATE"

    missing = to_global_id("Category", uuid.uuid4())
    for query, variables, field in (
        (RENAME_CATEGORY, {"id": missing, "name": unique("X")}, "renameCategory"),
        (DELETE_CATEGORY, {"id": missing}, "deleteCategory"),
    ):
        result = (await client(query, **variables))[field]
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "id")]

    deleted = (await client(DELETE_CATEGORY, id=category["id"]))["deleteCategory"]
    assert deleted == {"deletedId": category["id"], "errors": []}
    assert category["id"] not in {c["id"] for c in (await client(CATEGORIES))["categories"]}
    assert (await client(BOOK, id=book_id))["audiobook"]["categories"] == []

    customer = client_for(server, http, None)
    refused = await customer.raw(CREATE_CATEGORY, input={"name": unique("Nope")})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- deleting books --------------------------------------------------------------------------------


async def test_delete_soft_keeps_owners_library(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User
) -> None:
    author = unique("Soft Author")
    book = await published_book(sessions, server, authors=[author])
    book_id = to_global_id("Audiobook", book.id)
    async with session_scope(sessions) as s:
        owner = await make_user(s)
        stranger = await make_user(s)
        await entitlements.grant(s, owner.id, [book.id], None)
    as_admin, as_owner = client_for(server, http, admin), client_for(server, http, owner)
    await upload(as_admin, book_id, png(320, 320))

    result = (await as_admin(DELETE, id=book_id))["deleteAudiobook"]
    assert result == {"deletedId": book_id, "softDeleted": True, "errors": []}

    for viewer in (None, stranger, admin):
        client = client_for(server, http, viewer)
        assert (await client(BOOK, id=book_id))["audiobook"] is None
        assert (await client(PAGE, filter={"author": author}))["audiobooks"]["totalCount"] == 0
        assert (await client(PAGE, search=book.title))["audiobooks"]["totalCount"] == 0
    assert (await as_owner(BOOK, id=book_id))["audiobook"]["title"] == book.title

    items = [e["node"] for e in (await as_owner(LIBRARY))["library"]["edges"]]
    [item] = [i for i in items if i["audiobook"]["id"] == book_id]
    [audio] = [d for d in item["downloads"] if d["kind"] == "AUDIO"]
    response = await http.get(audio["url"])
    assert response.status_code == 200 and response.content == b"audio-bytes"
    cover = (await as_owner(BOOK, id=book_id))["audiobook"]["cover"]
    assert (await http.get(cover["url"])).status_code == 200  # the library still shows the cover
    assert len(objects_of(server, book.id)) == 1 + 3  # the audio and cover objects are kept
    async with sessions() as s:
        assert await s.get(Audiobook, book.id) is not None
    assert (await as_admin(PUBLISH, id=book_id))["publishAudiobook"]["errors"] == [{"code": "NOT_FOUND"}]


async def test_delete_hard_leaves_no_rows_or_objects(
    server: Server, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], admin: User
) -> None:
    book = await published_book(sessions, server, authors=[unique("Hard Author")], series=unique("Gone"))
    book_id = to_global_id("Audiobook", book.id)
    for fmt in ("txt", "vtt"):
        (storage_root(server) / "audiobooks" / str(book.id) / f"transcript.{fmt}").write_text("words")
    client = client_for(server, http, admin)
    await upload(client, book_id, png(700, 500))
    assert len(objects_of(server, book.id)) == 1 + 2 + 4

    result = (await client(DELETE, id=book_id))["deleteAudiobook"]
    assert result == {"deletedId": book_id, "softDeleted": False, "errors": []}
    assert objects_of(server, book.id) == []
    async with sessions() as s:
        for table in ("audiobooks", "audio_files", "audiobook_contributors", "audiobook_categories"):
            column = "id" if table == "audiobooks" else "audiobook_id"
            count = await s.scalar(text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": book.id})
            assert count == 0, table
        assert (
            await s.scalar(select(func.count()).select_from(AudioFile).where(col(AudioFile.audiobook_id) == book.id))
            == 0
        )
    assert (await client(BOOK, id=book_id))["audiobook"] is None
