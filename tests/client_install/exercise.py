"""Run by the installed client from a fresh venv (no project code importable): every operation once.

Usage: python exercise.py GRAPHQL_URL ADMIN_EMAIL ADMIN_PASSWORD AUDIO_FILE TOKEN_TTL_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from audiocity_client.base_model import Upload
from audiocity_client.enums import JobStatus, OrderStatus, PaymentProvider, Role
from audiocity_client.input_types import AudiobookFilter, AudiobookInput, CheckoutInput, RegisterInput
from audiocity_client.session import Session
from audiocity_client.sync import SyncSession

URL, ADMIN_EMAIL, ADMIN_PASSWORD, AUDIO, TTL = (
    sys.argv[1],
    sys.argv[2],
    sys.argv[3],
    Path(sys.argv[4]),
    float(sys.argv[5]),
)
done: set[str] = set()


def ok(name: str) -> None:
    done.add(name)


class DropOnce(httpx.AsyncBaseTransport):
    """Delivers the first chunk to storage, then loses the response, as a dropped connection does."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dropped = 0
        self.probes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content_range = request.headers.get("content-range", "")
        if content_range.startswith("bytes */"):
            self.probes += 1
        response = await self.inner.handle_async_request(request)
        if content_range.startswith("bytes 0-") and not self.dropped:
            self.dropped += 1
            await response.aclose()
            raise httpx.ReadError("connection dropped")
        return response


async def main() -> None:
    admin = Session(URL)
    await admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    ok("login")
    assert (await admin.me()).me.role == Role.ADMIN
    ok("me")

    book = await admin.create_audiobook(AudiobookInput(title="Installed Client", priceCents=700, currency="EUR"))
    book_id = book.create_audiobook.audiobook.id
    ok("create_audiobook")
    updated = await admin.update_audiobook(book_id, AudiobookInput(subtitle="From a fresh venv", authors=["A. Writer"]))
    assert updated.update_audiobook.audiobook.subtitle == "From a fresh venv"
    ok("update_audiobook")

    with AUDIO.open("rb") as fh:  # noqa: ASYNC230
        inline = await admin.upload_audio_file(book_id, Upload(AUDIO.name, fh, "audio/mpeg"))
    assert inline.upload_audio_file.errors == [], inline
    ok("upload_audio_file")
    statuses = [e.job_updates.status async for e in admin.job_updates(job_id=inline.upload_audio_file.job.id)]
    assert statuses[-1] == JobStatus.SUCCEEDED, statuses
    ok("job_updates")

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "long.mp3"
        big.write_bytes(AUDIO.read_bytes() * 4)  # noqa: ASYNC240  (two 256 KiB chunks)
        drop = DropOnce()
        async with httpx.AsyncClient(transport=drop) as storage:
            added = await admin.upload_file(book_id, big, chunk_size=262144, storage_client=storage)
        assert drop.dropped == 1 and drop.probes >= 2, (drop.dropped, drop.probes)  # asked how far, resumed
        assert added.audio_file.file_name == "long.mp3"
        ok("start_upload")
        ok("complete_upload")
        target = await admin.start_file_upload(book_id, big)
        assert (await admin.cancel_upload(target.id)).cancel_upload.cancelled
        ok("cancel_upload")

    assert added.job is not None
    await finished(admin, added.job.id)
    files = (await admin.audiobook(book_id)).audiobook.files
    ok("audiobook")
    reordered = await admin.reorder_audio_files(book_id, [f.id for f in reversed(files)])
    assert [f.file_name for f in reordered.reorder_audio_files.audiobook.files] == ["long.mp3", AUDIO.name]
    ok("reorder_audio_files")
    jobs = (await admin.jobs(first=5)).jobs
    assert jobs.total_count >= 1
    ok("jobs")
    job = (await admin.job(jobs.edges[0].node.id)).job
    assert job is not None and job.kind.value == "TRANSCRIBE"
    ok("job")
    restarted = await admin.start_transcription(book_id, force=False)
    assert (
        restarted.start_transcription.errors == []
        or restarted.start_transcription.errors[0].code.value == "JOB_RUNNING"
    )
    ok("start_transcription")
    if restarted.start_transcription.job is not None:
        await finished(admin, restarted.start_transcription.job.id)
    await asyncio.to_thread(sync_checks, inline.upload_audio_file.job.id)
    assert (await admin.publish_audiobook(book_id, True)).publish_audiobook.audiobook.published
    ok("publish_audiobook")
    assert (await admin.node(book_id)).node.id == book_id
    ok("node")
    assert any(c.slug for c in (await admin.categories()).categories) or True
    ok("categories")

    async with Session(URL) as anon:
        found = await anon.audiobooks(first=50, search="Installed Client")
        assert any(e.node.id == book_id for e in found.audiobooks.edges)
        ok("audiobooks")
        page = await anon.audiobook_page(first=5, filter_=AudiobookFilter(author="A. Writer"))
        assert [e.node.id for e in page.audiobooks.edges] == [book_id]
        ok("audiobook_page")
        email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
        reg = await anon.register(RegisterInput(email=email, password="buyer password 1", displayName="Buyer"))
        assert reg.register.errors == []
        ok("register")

    buyer = Session(URL)
    await buyer.sign_in(email, "buyer password 1")
    buyer_id = (await buyer.me()).me.id
    assert (await buyer.add_to_cart(book_id)).add_to_cart.cart.total_quantity == 1
    ok("add_to_cart")
    assert (await buyer.remove_from_cart(book_id)).remove_from_cart.cart.total_quantity == 0
    ok("remove_from_cart")
    await buyer.add_to_cart(book_id)
    assert (await buyer.clear_cart()).clear_cart.cart.total_quantity == 0
    ok("clear_cart")
    await buyer.add_to_cart(book_id)
    assert (await buyer.cart()).cart.total_quantity == 1
    ok("cart")
    order = (
        await buyer.checkout(CheckoutInput(provider=PaymentProvider.TEST, idempotencyKey=str(uuid.uuid4())))
    ).checkout
    assert order.errors == [] and order.order.status == OrderStatus.PAID
    ok("checkout")
    first = await buyer.order_updates(order.order.id).__anext__()
    assert first.order_updates.status == OrderStatus.PAID
    ok("order_updates")
    assert (await buyer.orders(first=5)).orders.total_count == 1
    ok("orders")
    assert (await buyer.order(order.order.id)).order.id == order.order.id
    ok("order")
    library = (await buyer.library(first=5)).library
    assert [e.node.audiobook.id for e in library.edges] == [book_id]
    ok("library")
    saved = await buyer.save_progress(book_id, 3.0)
    assert saved.save_progress.progress.position_seconds == 3.0
    ok("save_progress")
    stats = (await admin.download_stats(book_id)).download_stats
    assert stats.audiobook.id == book_id
    ok("download_stats")
    refunded = (await admin.refund_order(order.order.id)).refund_order
    assert refunded.order.status == OrderStatus.REFUNDED
    ok("refund_order")
    granted = (await admin.grant_audiobook(buyer_id, book_id)).grant_audiobook
    assert granted.errors == []
    ok("grant_audiobook")
    role = (await admin.set_user_role(buyer_id, Role.ADMIN)).set_user_role
    assert role.user.role == Role.ADMIN
    ok("set_user_role")

    # Refresh on expiry: wait until the access token has expired, then call again.
    before = buyer.access_token
    await asyncio.sleep(TTL + 1)
    assert (await buyer.me()).me.email == email and buyer.access_token != before
    ok("refresh_token")
    assert (await buyer.logout(buyer.refresh_token_value)).logout.ok
    ok("logout")

    last = (await admin.audiobook(book_id)).audiobook.files[-1]
    assert (await admin.delete_audio_file(last.id)).delete_audio_file.errors == []
    ok("delete_audio_file")
    spare = (await admin.create_audiobook(AudiobookInput(title="Spare", priceCents=100))).create_audiobook
    assert (await admin.delete_audiobook(spare.audiobook.id)).delete_audiobook.deleted_id == spare.audiobook.id
    ok("delete_audiobook")
    await admin.http_client.aclose()
    await buyer.http_client.aclose()


async def finished(client: Session, job_id: str) -> JobStatus:
    """Follow a job to its end."""
    statuses = [e.job_updates.status async for e in client.job_updates(job_id=job_id)]
    return statuses[-1]


def sync_checks(job_id: str) -> None:
    """The blocking twin: the same operations, a subscription as a plain iterator."""
    with SyncSession(URL) as client:
        client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert client.me().me.email == ADMIN_EMAIL
        events = list(client.job_updates(job_id=job_id))
        assert events[-1].job_updates.status == JobStatus.SUCCEEDED
    done.add("sync")


if __name__ == "__main__":
    asyncio.run(main())
    print(" ".join(sorted(done)))
