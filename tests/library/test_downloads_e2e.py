"""Library and downloads against a real `audiocity serve` process: real HTTP, PostgreSQL and Redis.

Books are set up through services in the shared database, with their objects written straight into
the server's storage folder; buying, refunding, progress and downloading go through the public API.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audiocity.db import session_scope
from audiocity.graphql.relay import decode_id, to_global_id
from audiocity.models import Role
from audiocity.services import accounts, catalog
from audiocity.storage.local import LocalStorage
from audiocity.storage.signing import DownloadGrant, query_params
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server
from tests.library.helpers import add_file, make_book, mark_transcribed, unique

PASSWORD = "correct horse battery"
REGISTER = (
    """mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } errors { code } } }"""
)
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken errors { code } } }"""
ADD_TO_CART = """mutation($id: ID!) { addToCart(audiobookId: $id) { errors { code message } } }"""
CHECKOUT = """mutation($key: String!) { checkout(input: {provider: TEST, idempotencyKey: $key}) {
  order { id status } errors { code message } } }"""
REFUND = """mutation($id: ID!) { refundOrder(orderId: $id) { order { id status } errors { code message } } }"""
LINK = "kind fileName url expiresAt sizeBytes"
LIBRARY = f"""query($first: Int, $after: String, $search: String, $orderBy: LibraryOrder) {{
  library(first: $first, after: $after, search: $search, orderBy: $orderBy) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ purchasedAt audiobook {{ id title owned }}
      downloads {{ {LINK} }} bundle {{ {LINK} }}
      progress {{ positionSeconds durationSeconds fileIndex file {{ id position }} offsetSeconds percent finished
                  updatedAt }} }} }} }} }}"""
SAVE_PROGRESS = """mutation($id: ID!, $position: Float!) { saveProgress(audiobookId: $id, positionSeconds: $position) {
  progress { positionSeconds fileIndex offsetSeconds percent finished updatedAt file { id } }
  errors { code field message } } }"""
GRANT = """mutation($user: ID!, $book: ID!) { grantAudiobook(userId: $user, audiobookId: $book) {
  audiobook { id } errors { code field } } }"""
STATS = """query($id: ID!) { downloadStats(audiobookId: $id) {
  audiobook { id } requestCount downloadCount uniqueUsers lastDownloadedAt byKind { kind downloadCount } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    # No in-process worker: nothing here is transcribed, and the RSS test wants a quiet process.
    with run_server(tmp_path_factory.mktemp("library-app"), database_url, redis_url, IN_PROCESS_WORKER="0") as s:
        yield s


@dataclass
class Book:
    id: str
    db_id: uuid.UUID
    title: str
    files: list[bytes]
    text: str
    vtt: str


@dataclass
class World:
    server: Server
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    admin: GraphQLClient

    @property
    def anon(self) -> GraphQLClient:
        return GraphQLClient(self.http, self.server.graphql_url)

    @property
    def storage_root(self) -> Path:
        return Path(self.server.env["AUDIOCITY_DATA_DIR"]) / "storage"

    @property
    def signer(self) -> LocalStorage:
        """The server's own signing key, to forge links a client could not: valid signature, wrong user."""
        return LocalStorage(self.storage_root, self.server.env["SECRET_KEY"], self.server.base_url)

    def write_object(self, key: str, data: bytes) -> None:
        path = self.storage_root.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    async def customer(self) -> tuple[GraphQLClient, str]:
        email = f"{unique('buyer')}@example.com"
        data = await self.anon(REGISTER, input={"email": email, "password": PASSWORD, "displayName": "B"})
        assert data["register"]["errors"] == []
        login = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }"""
        payload = (await self.anon(login, e=email, p=PASSWORD))["login"]
        return GraphQLClient(self.http, self.server.graphql_url, payload["accessToken"]), payload["user"]["id"]

    async def book(self, sizes: tuple[int, ...] = (200_000, 70_000, 5), *, transcript: bool = True) -> Book:
        """A published book: audio objects of these sizes (1 minute each) and, optionally, a transcript."""
        async with session_scope(self.sessions) as s:
            book = await make_book(s, title=f"Été {unique('Lighthouse')}")
            files = []
            for i, size in enumerate(sizes):
                data = os.urandom(size)
                audio = await add_file(s, book, position=i, size=size, duration=60.0, file_name=f"chapter {i + 1}.mp3")
                self.write_object(audio.storage_key, data)
                files.append(data)
            text = "Once upon a time, a keeper kept the light.\n"
            vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nOnce upon a time, a keeper kept the light.\n"
            if transcript:
                await mark_transcribed(s, book, text, vtt)
                self.write_object(f"audiobooks/{book.id}/transcript.txt", text.encode())
                self.write_object(f"audiobooks/{book.id}/transcript.vtt", vtt.encode())
            await catalog.publish_audiobook(s, book.id, True)
        return Book(to_global_id("Audiobook", book.id), book.id, book.title, files, text, vtt)

    async def buy(self, buyer: GraphQLClient, book: Book) -> str:
        added = (await buyer(ADD_TO_CART, id=book.id))["addToCart"]
        assert added["errors"] == []
        order = (await buyer(CHECKOUT, key=unique("order")))["checkout"]
        assert order["errors"] == [] and order["order"]["status"] == "PAID"
        return str(order["order"]["id"])


@pytest.fixture(scope="module")
async def world(server: Server, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    email = f"{unique('admin')}@example.com"
    async with session_scope(sessions) as s:
        await accounts.create_user(s, email, PASSWORD, "Admin", role=Role.ADMIN)
    async with httpx.AsyncClient(timeout=120) as http:
        anon = GraphQLClient(http, server.graphql_url)
        token = (await anon(LOGIN, email=email, password=PASSWORD))["login"]["accessToken"]
        yield World(server, http, sessions, GraphQLClient(http, server.graphql_url, token))


async def library_item(client: GraphQLClient, book: Book) -> dict[str, Any] | None:
    data = await client(LIBRARY, first=100)
    items = [e["node"] for e in data["library"]["edges"] if e["node"]["audiobook"]["id"] == book.id]
    return items[0] if items else None


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for k, v in changes.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = v
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_owner_downloads_every_file_exactly_with_ranges_and_head(world: World) -> None:
    book = await world.book()
    owner, _ = await world.customer()
    await world.buy(owner, book)
    item = await library_item(owner, book)
    assert item is not None and item["audiobook"]["owned"] is True and item["progress"] is None
    links = item["downloads"]
    assert [d["kind"] for d in links] == ["AUDIO", "AUDIO", "AUDIO", "TRANSCRIPT_TEXT", "TRANSCRIPT_VTT"]
    assert [d["fileName"] for d in links[:3]] == ["01 - chapter 1.mp3", "02 - chapter 2.mp3", "03 - chapter 3.mp3"]
    assert [d["sizeBytes"] for d in links] == [*map(len, book.files), len(book.text.encode()), len(book.vtt.encode())]

    for link, expected in zip(links, [*book.files, book.text.encode(), book.vtt.encode()], strict=True):
        response = await world.http.get(link["url"])
        assert response.status_code == 200, response.text
        assert response.content == expected
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert (await world.http.get(links[3]["url"])).headers["content-type"] == "text/plain; charset=utf-8"
    assert (await world.http.get(links[4]["url"])).headers["content-type"] == "text/vtt; charset=utf-8"

    url, data = links[0]["url"], book.files[0]
    middle = await world.http.get(url, headers={"Range": "bytes=1000-65999"})
    assert middle.status_code == 206
    assert middle.content == data[1000:66000]
    assert middle.headers["content-range"] == f"bytes 1000-65999/{len(data)}"
    tail = await world.http.get(url, headers={"Range": "bytes=-100"})
    assert (tail.status_code, tail.content) == (206, data[-100:])
    head = await world.http.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data)) and head.headers["accept-ranges"] == "bytes"
    beyond = await world.http.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


async def test_links_refuse_everyone_but_the_owner(world: World) -> None:
    book = await world.book(transcript=False)
    owner, owner_id = await world.customer()
    other, other_id = await world.customer()
    await world.buy(owner, book)
    item = await library_item(owner, book)
    assert item is not None
    assert [d["kind"] for d in item["downloads"]] == ["AUDIO"] * 3, "no transcript links before it is ready"
    url = item["downloads"][0]["url"]
    bundle = item["bundle"]["url"]
    key = urlsplit(url).path.removeprefix("/files/")
    other_db_id = str(decode_id(other_id, "User"))

    async def status(link: str) -> int:
        return (await world.http.get(link)).status_code

    assert await status(url) == 200
    assert await library_item(other, book) is None
    # Another customer: the owner's link re-pointed at them breaks the signature ...
    assert await status(with_query(url, u=other_db_id)) == 403
    assert await status(with_query(bundle, u=other_db_id)) == 403
    # ... and even a correctly signed link for them is refused: they are not entitled.
    forged = world.signer.signed_download_url(
        key, expires_in=60, filename="x.mp3", content_type="audio/mpeg", user_id=other_db_id
    )
    refused = await world.http.get(forged.url)
    assert (refused.status_code, refused.text) == (403, "Not allowed.")
    # Anonymous: no user in the link, or a correctly signed link for nobody.
    assert await status(with_query(url, u=None)) == 403
    assert await status(with_query(url, u="")) == 403
    assert await status(with_query(bundle, u=None)) == 403
    nobody = world.signer.signed_download_url(key, expires_in=60, filename="x.mp3", content_type="audio/mpeg")
    assert await status(nobody.url) == 403
    # Expired: correctly signed, but in the past.
    owner_db_id = str(decode_id(owner_id, "User"))
    grant = DownloadGrant(key, int(time.time()) - 5, owner_db_id, "x.mp3", "audio/mpeg")
    params = query_params(world.server.env["SECRET_KEY"], grant)
    expired = await world.http.get(f"{world.server.base_url}/files/{key}?{urlencode(params)}")
    assert (expired.status_code, expired.text) == (403, "Link expired.")
    assert await status(with_query(bundle, exp=str(int(time.time()) - 5))) == 403
    # Tampered: any signed field, the signature, or the object.
    for field, value in (("fn", "other.mp3"), ("ct", "text/html"), ("exp", "9999999999"), ("sig", "0" * 64)):
        assert await status(with_query(url, **{field: value})) == 403, field
    other_key = url.replace(key, f"audiobooks/{book.db_id}/transcript.txt")
    assert await status(other_key) == 403
    assert await status(with_query(bundle, fn="x.zip")) == 403
    assert await status(bundle.replace(str(book.db_id), str(uuid.uuid4()))) == 403
    # An admin may fetch anything through a link minted for them.
    admin_id = (await world.admin("{ me { id } }"))["me"]["id"]
    admin_link = world.signer.signed_download_url(
        key, expires_in=60, filename="x.mp3", content_type="audio/mpeg", user_id=str(decode_id(admin_id, "User"))
    )
    assert await status(admin_link.url) == 200


async def test_bundle_unzips_to_the_same_bytes(world: World) -> None:
    book = await world.book()
    owner, _ = await world.customer()
    await world.buy(owner, book)
    item = await library_item(owner, book)
    assert item is not None
    bundle = item["bundle"]
    assert bundle["kind"] == "BUNDLE" and bundle["fileName"] == f"{book.title}.zip"

    head = await world.http.head(bundle["url"])
    assert head.status_code == 200 and head.headers["content-type"] == "application/zip"
    response = await world.http.get(bundle["url"])
    assert response.status_code == 200
    assert int(head.headers["content-length"]) == len(response.content) == bundle["sizeBytes"]
    assert "filename*=UTF-8''%C3%89t%C3%A9" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        names = [i.filename for i in infos]
        assert names == [
            f"{book.title}/01 - chapter 1.mp3",
            f"{book.title}/02 - chapter 2.mp3",
            f"{book.title}/03 - chapter 3.mp3",
            f"{book.title}/{book.title} - transcript.txt",
            f"{book.title}/{book.title} - transcript.vtt",
        ]
        contents = [archive.read(n) for n in names]
    assert contents == [*book.files, book.text.encode(), book.vtt.encode()]


async def test_refund_stops_links_that_have_not_expired(world: World) -> None:
    book = await world.book()
    owner, _ = await world.customer()
    order_id = await world.buy(owner, book)
    item = await library_item(owner, book)
    assert item is not None
    urls = [d["url"] for d in item["downloads"]] + [item["bundle"]["url"]]
    for url in urls:
        assert (await world.http.head(url)).status_code == 200

    refunded = (await world.admin(REFUND, id=order_id))["refundOrder"]
    assert refunded["errors"] == [] and refunded["order"]["status"] == "REFUNDED"

    for url in urls:
        assert (await world.http.get(url)).status_code == 403, url
        assert (await world.http.head(url)).status_code == 403, url
    assert await library_item(owner, book) is None
    saved = (await owner(SAVE_PROGRESS, id=book.id, position=1.0))["saveProgress"]
    assert saved["progress"] is None and saved["errors"][0]["code"] == "NOT_OWNED"

    # An admin grant gives it back, without an order.
    customer_id = (await owner("{ me { id } }"))["me"]["id"]
    granted = (await world.admin(GRANT, user=customer_id, book=book.id))["grantAudiobook"]
    assert granted == {"audiobook": {"id": book.id}, "errors": []}
    again = await library_item(owner, book)
    assert again is not None
    assert (await world.http.get(again["downloads"][0]["url"])).content == book.files[0]
    forbidden = await owner.raw(GRANT, user=customer_id, book=book.id)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = (await world.admin(GRANT, user=to_global_id("User", uuid.uuid4()), book=book.id))["grantAudiobook"]
    assert missing["errors"] == [{"code": "NOT_FOUND", "field": "userId"}]


async def test_progress_and_continue_listening(world: World) -> None:
    reader, _ = await world.customer()
    books = [await world.book(transcript=False) for _ in range(3)]  # three 1-minute files each
    for book in books:
        await world.buy(reader, book)

    saved = (await reader(SAVE_PROGRESS, id=books[0].id, position=75.5))["saveProgress"]
    assert saved["errors"] == []
    progress = saved["progress"]
    assert (progress["fileIndex"], progress["offsetSeconds"], progress["finished"]) == (1, 15.5, False)
    assert progress["percent"] == pytest.approx(41.94, abs=0.01)
    near_end = (await reader(SAVE_PROGRESS, id=books[1].id, position=171))["saveProgress"]["progress"]
    assert near_end["finished"] is True and near_end["fileIndex"] == 2
    bad = (await reader(SAVE_PROGRESS, id=books[1].id, position=-3))["saveProgress"]
    assert bad["errors"][0]["code"] == "INVALID" and bad["errors"][0]["field"] == "positionSeconds"

    async def order(order_by: str, first: int) -> list[str]:
        ids: list[str] = []
        after = None
        while True:
            page = (await reader(LIBRARY, first=first, after=after, orderBy=order_by))["library"]
            ids += [e["node"]["audiobook"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return ids
            after = page["pageInfo"]["endCursor"]

    assert await order("RECENTLY_LISTENED", 1) == [books[1].id, books[0].id, books[2].id]
    assert await order("RECENTLY_PURCHASED", 2) == [books[2].id, books[1].id, books[0].id]
    await reader(SAVE_PROGRESS, id=books[0].id, position=80)
    assert await order("RECENTLY_LISTENED", 2) == [books[0].id, books[1].id, books[2].id]

    item = await library_item(reader, books[0])
    assert item is not None
    assert item["progress"]["positionSeconds"] == 80 and item["progress"]["durationSeconds"] == 180
    assert item["progress"]["file"]["position"] == 1

    searched = (await reader(LIBRARY, search=books[2].title.split()[-1]))["library"]
    assert [e["node"]["audiobook"]["id"] for e in searched["edges"]] == [books[2].id]
    bad_cursor = await reader.raw(LIBRARY, after="garbage", orderBy="RECENTLY_LISTENED")
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    anonymous = await world.anon.raw(SAVE_PROGRESS, id=books[0].id, position=1.0)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_downloads_are_audited_for_admins(world: World) -> None:
    book = await world.book()
    first, _ = await world.customer()
    second, _ = await world.customer()
    for buyer in (first, second):
        await world.buy(buyer, book)
    for buyer in (first, second):
        item = await library_item(buyer, book)
        assert item is not None
        assert (await world.http.get(item["downloads"][0]["url"])).status_code == 200
        assert (await world.http.get(item["bundle"]["url"])).status_code == 200
    item = await library_item(first, book)
    assert item is not None
    await world.http.get(item["downloads"][0]["url"], headers={"Range": "bytes=500-999"})  # a seek
    await world.http.head(item["downloads"][1]["url"])  # not a download
    await world.http.get(item["downloads"][3]["url"])  # the text transcript

    stats = (await world.admin(STATS, id=book.id))["downloadStats"]
    assert stats["audiobook"]["id"] == book.id
    assert (stats["requestCount"], stats["downloadCount"], stats["uniqueUsers"]) == (6, 5, 2)
    assert stats["lastDownloadedAt"] is not None
    assert {k["kind"]: k["downloadCount"] for k in stats["byKind"]} == {"AUDIO": 2, "BUNDLE": 2, "TRANSCRIPT_TEXT": 1}
    refused = await first.raw(STATS, id=book.id)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RSSSampler(threading.Thread):
    """Polls a process's resident set size until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = vm_rss_kib(pid)
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, vm_rss_kib(self.pid))
            self.samples += 1


MIB = 1024 * 1024


async def test_a_large_bundle_streams_in_flat_memory(world: World) -> None:
    """300 MiB of audio (sparse files: no disk or page-cache cost) while the server's RSS barely moves."""
    small = await world.book()
    big_size = 100 * MIB
    async with session_scope(world.sessions) as s:
        book = await make_book(s, title=unique("Doorstopper"))
        for i in range(3):
            audio = await add_file(s, book, position=i, size=big_size, duration=3600.0)
            path = world.storage_root.joinpath(*audio.storage_key.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                f.truncate(big_size)
    reader, reader_id = await world.customer()
    await world.buy(reader, small)
    assert (await world.admin(GRANT, user=reader_id, book=to_global_id("Audiobook", book.id)))["grantAudiobook"][
        "errors"
    ] == []
    items = {e["node"]["audiobook"]["title"]: e["node"] for e in (await reader(LIBRARY))["library"]["edges"]}
    warm_up, large = items[small.title]["bundle"], items[book.title]["bundle"]
    assert large["sizeBytes"] > 3 * big_size

    assert len((await world.http.get(warm_up["url"])).content) == warm_up["sizeBytes"]  # code paths warm
    pid = world.server.process.pid
    baseline = vm_rss_kib(pid)
    sampler = RSSSampler(pid)
    sampler.start()
    received = 0
    tail = b""
    try:
        async with world.http.stream("GET", large["url"]) as response:
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == large["sizeBytes"]
            async for chunk in response.aiter_raw():
                received += len(chunk)
                tail = (tail + chunk)[-4096:]
    finally:
        sampler.done.set()
        await asyncio.to_thread(sampler.join, 5)
    assert received == large["sizeBytes"]
    assert tail[-22:].startswith(b"PK\x05\x06")  # the end of central directory record closes the archive
    growth_mib = (sampler.peak - baseline) / 1024
    print(f"bundle {received / MIB:.0f} MiB: server RSS {baseline / 1024:.0f} MiB -> peak +{growth_mib:.1f} MiB "
          f"({sampler.samples} samples)")  # fmt: skip
    assert sampler.samples > 0
    assert growth_mib < 32, f"server RSS grew by {growth_mib:.1f} MiB while streaming {received / MIB:.0f} MiB"
