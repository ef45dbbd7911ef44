"""The whole product flow against a real `audiocity serve` process on loopback."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jiwer
import pytest

from tests.conftest import FIXTURES
from tests.e2e.client import GraphQLClient
from tests.e2e.server import Server, run_server

SPEECH = FIXTURES / "speech" / "lighthouse.mp3"

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  accessToken refreshToken user { id email role } errors { code field message } } }"""
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password) {
  accessToken user { id role } errors { code field message } } }"""
CREATE_BOOK = """mutation($input: AudiobookInput!) { createAudiobook(input: $input) {
  audiobook { id title published price { amountCents currency } } errors { code field message } } }"""
UPLOAD = """mutation($audiobookId: ID!, $file: Upload!) { uploadAudioFile(audiobookId: $audiobookId, file: $file) {
  audioFile { id position fileName sizeBytes durationSeconds } job { id status } errors { code field message } } }"""
JOB_UPDATES = """subscription($jobId: ID) { jobUpdates(jobId: $jobId) {
  status progress stage message sequence job { id error } } }"""
PUBLISH = """mutation($id: ID!) { publishAudiobook(id: $id, published: true) {
  audiobook { id published transcriptStatus summary tags } errors { code message } } }"""
ADD_TO_CART = """mutation($id: ID!) { addToCart(audiobookId: $id) {
  cart { totalQuantity lines { audiobook { id } price { amountCents } } } errors { code message } } }"""
CHECKOUT = """mutation($key: String!) { checkout(input: {provider: TEST, idempotencyKey: $key}) {
  order { id status total { amountCents currency } lines { title } } payment { provider } errors { code message } } }"""
LIBRARY = """{ library(first: 10) { totalCount edges { node { audiobook { id title owned }
  downloads { kind fileName url expiresAt sizeBytes } } } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("e2e-app"), database_url, redis_url) as running:
        yield running


def unique_email(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}@example.com"


async def register(gql: GraphQLClient, email: str, password: str = "correct horse battery") -> dict[str, str]:
    """Sign up, then sign in: `register` itself never signs in (it must not reveal taken addresses)."""
    data = await gql(REGISTER, input={"email": email, "password": password, "displayName": "Reader"})
    assert data["register"] == {"accessToken": None, "refreshToken": None, "user": None, "errors": []}
    payload = (await gql(LOGIN, email=email, password=password))["login"]
    assert payload["errors"] == []
    return payload  # type: ignore[no-any-return]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_customer_buys_and_downloads_a_transcribed_book(server: Server) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(http, server.graphql_url)

        customer = await register(anon, unique_email("customer"))
        assert customer["user"]["role"] == "CUSTOMER"

        admin_email = unique_email("admin")
        made = server.cli("create-admin", "--email", admin_email, "--password", "admin password 1")
        assert made.returncode == 0, made.stderr
        login = (await anon(LOGIN, email=admin_email, password="admin password 1"))["login"]
        assert login["errors"] == [] and login["user"]["role"] == "ADMIN"
        admin = GraphQLClient(http, server.graphql_url, login["accessToken"])

        created = (await admin(CREATE_BOOK, input={
            "title": "The Lighthouse Keeper", "authors": ["Mara Quell"], "narrators": ["Espeak"],
            "categories": ["Fiction"], "priceCents": 1299, "currency": "USD",
        }))["createAudiobook"]  # fmt: skip
        assert created["errors"] == []
        book_id = created["audiobook"]["id"]

        uploaded = await admin.upload(UPLOAD, {"audiobookId": book_id}, "file", SPEECH, "audio/mpeg")
        assert "errors" not in uploaded, uploaded
        result = uploaded["data"]["uploadAudioFile"]
        assert result["errors"] == []
        assert result["audioFile"]["position"] == 0
        assert result["audioFile"]["sizeBytes"] == SPEECH.stat().st_size
        assert result["audioFile"]["durationSeconds"] > 1
        job_id = result["job"]["id"]

        events = []
        async with asyncio.timeout(240):
            async for message in admin.subscribe(JOB_UPDATES, jobId=job_id):
                assert "errors" not in message, message
                events.append(message["data"]["jobUpdates"])
        statuses = [e["status"] for e in events]
        assert statuses[-1] == "SUCCEEDED", events
        sequences = [e["sequence"] for e in events]
        assert sequences == sorted(set(sequences)), "events arrive once each, in order"
        assert events[-1]["progress"] == 1.0
        assert "RUNNING" in statuses or len(events) == 1

        published = (await admin(PUBLISH, id=book_id))["publishAudiobook"]
        assert published["errors"] == []
        book = published["audiobook"]
        assert book["transcriptStatus"] == "READY"
        assert book["summary"]
        assert len(book["tags"]) == 3 and len(set(book["tags"])) == 3

        buyer = GraphQLClient(http, server.graphql_url, customer["accessToken"])
        listing = await anon("{ audiobooks(first: 50) { edges { node { id title } } } }")
        assert book_id in [e["node"]["id"] for e in listing["audiobooks"]["edges"]]

        cart = (await buyer(ADD_TO_CART, id=book_id))["addToCart"]
        assert cart["errors"] == [] and cart["cart"]["totalQuantity"] == 1
        order = (await buyer(CHECKOUT, key="order-1"))["checkout"]
        assert order["errors"] == []
        assert order["order"]["status"] == "PAID"
        assert order["order"]["total"] == {"amountCents": 1299, "currency": "USD"}

        items = (await buyer(LIBRARY))["library"]
        assert items["totalCount"] == 1
        item = items["edges"][0]["node"]
        assert item["audiobook"]["owned"] is True
        links = {d["kind"]: d for d in item["downloads"]}
        assert set(links) == {"AUDIO", "TRANSCRIPT_TEXT", "TRANSCRIPT_VTT"}

        audio = await http.get(links["AUDIO"]["url"])
        assert audio.status_code == 200
        assert audio.content == SPEECH.read_bytes()
        assert "attachment" in audio.headers["content-disposition"]

        transcript = await http.get(links["TRANSCRIPT_TEXT"]["url"])
        assert transcript.status_code == 200
        spoken = (SPEECH.with_suffix(".txt")).read_text()
        error_rate = jiwer.wer(normalise(spoken), normalise(transcript.text))
        assert error_rate <= 0.35, (error_rate, transcript.text)

        vtt = await http.get(links["TRANSCRIPT_VTT"]["url"])
        assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")

        tampered = tamper(links["AUDIO"]["url"], fn="other.mp3")
        assert (await http.get(tampered)).status_code == 403
        expired = tamper(links["AUDIO"]["url"], exp=str(int(time.time()) - 10))
        assert (await http.get(expired)).status_code == 403

        other = GraphQLClient(http, server.graphql_url, (await register(anon, unique_email("other")))["accessToken"])
        assert (await other(LIBRARY))["library"]["totalCount"] == 0


async def test_bad_input_gets_clear_errors_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(http, server.graphql_url)
        email = unique_email("dup")
        await register(anon, email)
        duplicate = await anon(REGISTER, input={"email": email.upper(), "password": "another password"})
        assert duplicate["register"] == {"accessToken": None, "refreshToken": None, "user": None, "errors": []}
        assert (await anon(LOGIN, email=email, password="another password"))["login"]["accessToken"] is None

        wrong = (await anon(LOGIN, email=email, password="wrong password"))["login"]
        assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS" and wrong["accessToken"] is None

        anonymous_library = await anon.raw(LIBRARY)
        assert anonymous_library["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        customer = GraphQLClient(http, server.graphql_url, (await register(anon, unique_email("c")))["accessToken"])
        empty = (await customer(CHECKOUT, key="empty-cart"))["checkout"]
        assert empty["errors"][0]["code"] == "EMPTY_CART" and empty["order"] is None
        forbidden = await customer.raw(CREATE_BOOK, input={"title": "x", "priceCents": 1})
        assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        admin_email = unique_email("admin")
        assert server.cli("create-admin", "--email", admin_email, "--password", "admin password 1").returncode == 0
        token = (await anon(LOGIN, email=admin_email, password="admin password 1"))["login"]["accessToken"]
        admin = GraphQLClient(http, server.graphql_url, token)
        book_id = (await admin(CREATE_BOOK, input={"title": "Not audio", "priceCents": 100}))["createAudiobook"][
            "audiobook"
        ]["id"]
        fake = tmp_path / "notes.mp3"
        fake.write_text("this is a text file pretending to be audio\n" * 100)
        storage_root = Path(server.env["AUDIOCITY_DATA_DIR"]) / "storage"
        before = sorted(storage_root.rglob("*")) if storage_root.exists() else []
        refused = await admin.upload(UPLOAD, {"audiobookId": book_id}, "file", fake, "audio/mpeg")
        payload = refused["data"]["uploadAudioFile"]
        assert payload["errors"][0]["code"] == "NOT_AUDIO" and payload["audioFile"] is None
        after = sorted(storage_root.rglob("*")) if storage_root.exists() else []
        assert after == before, "no object is left behind"
        files = await admin("query($id: ID!) { audiobook(id: $id) { files { id } } }", id=book_id)
        assert files["audiobook"]["files"] == []
