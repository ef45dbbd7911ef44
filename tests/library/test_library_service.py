"""services.library against the real database: ownership, ordering, progress, authorization, audit."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.models import AudioFile, DownloadKind, Entitlement, ListeningProgress, Role
from audiocity.services import downloads, entitlements, library, progress, storage_keys
from audiocity.services.errors import ErrorCode, ServiceError
from audiocity.services.library import LibraryOrder
from tests.library.helpers import add_file, make_book, make_user, unique

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _files(*durations: float) -> list[AudioFile]:
    book_id = uuid.uuid4()
    return [
        AudioFile(
            audiobook_id=book_id,
            position=i,
            file_name=f"{i}.mp3",
            content_type="audio/mpeg",
            size_bytes=1,
            duration_seconds=d,
            storage_key=f"k/{uuid.uuid4()}",
        )
        for i, d in enumerate(durations)
    ]


def _at(position: float) -> ListeningProgress:
    return ListeningProgress(user_id=uuid.uuid4(), audiobook_id=uuid.uuid4(), position_seconds=position, updated_at=NOW)


@pytest.mark.parametrize(
    ("position", "index", "offset", "percent", "finished"),
    [
        (0.0, 0, 0.0, 0.0, False),
        (99.5, 0, 99.5, 28.43, False),
        (100.0, 1, 0.0, 28.57, False),
        (150.0, 1, 50.0, 42.86, False),
        (300.0, 2, 0.0, 85.71, False),
        (339.9, 2, 39.9, 97.11, False),
        (340.0, 2, 40.0, 97.14, True),
        (350.0, 2, 50.0, 100.0, True),
        (9999.0, 2, 50.0, 100.0, True),  # past the end is the end
    ],
)
def test_locate_maps_a_position_onto_files_in_play_order(
    position: float, index: int, offset: float, percent: float, finished: bool
) -> None:
    files = _files(100.0, 200.0, 50.0)
    p = progress.locate(_at(position), files)
    assert p.duration_seconds == 350.0
    assert p.file_index == index and p.file is files[index]
    assert math.isclose(p.offset_seconds, offset, abs_tol=1e-9)
    assert p.percent == percent
    assert p.finished is finished


def test_locate_without_files_or_durations() -> None:
    empty = progress.locate(_at(12.0), [])
    assert (empty.file_index, empty.file, empty.percent, empty.finished) == (None, None, 0.0, False)
    unknown = progress.locate(_at(12.0), _files(0.0, 0.0))
    assert unknown.file_index == 1 and unknown.offset_seconds == 0.0 and not unknown.finished


async def test_save_progress_upserts_clamps_and_refuses_bad_input(session: AsyncSession) -> None:
    owner = await make_user(session)
    stranger = await make_user(session)
    admin = await make_user(session, Role.ADMIN)
    book = await make_book(session)
    await add_file(session, book, position=0, duration=100.0)
    await add_file(session, book, position=1, duration=50.0)
    await entitlements.grant(session, owner.id, [book.id], None)

    saved, files = await progress.save_progress(session, user_id=owner.id, audiobook_id=book.id, position_seconds=120)
    first = progress.locate(saved, files)
    assert (first.position_seconds, first.file_index, first.offset_seconds) == (120.0, 1, 20.0)

    again, _ = await progress.save_progress(session, user_id=owner.id, audiobook_id=book.id, position_seconds=1e9)
    assert again.position_seconds == 150.0 and again.updated_at >= saved.updated_at
    page = await library.list_library(session, owner.id, first=10, after=None)
    (entry,) = [e for e in page.items if e.audiobook.id == book.id]
    assert entry.listened is not None and entry.listened.position_seconds == 150.0
    assert progress.locate(entry.listened, files).finished

    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ServiceError) as invalid:
            await progress.save_progress(session, user_id=owner.id, audiobook_id=book.id, position_seconds=bad)
        assert (invalid.value.code, invalid.value.field) == (ErrorCode.INVALID, "positionSeconds")
    with pytest.raises(ServiceError) as not_owned:
        await progress.save_progress(session, user_id=stranger.id, audiobook_id=book.id, position_seconds=1)
    assert not_owned.value.code == ErrorCode.NOT_OWNED
    with pytest.raises(ServiceError) as missing:
        await progress.save_progress(session, user_id=owner.id, audiobook_id=uuid.uuid4(), position_seconds=1)
    assert missing.value.code == ErrorCode.NOT_FOUND
    admin_saved, _ = await progress.save_progress(session, user_id=admin.id, audiobook_id=book.id, position_seconds=3)
    assert admin_saved.position_seconds == 3.0


async def _ids(session: AsyncSession, user_id: uuid.UUID, order: LibraryOrder, first: int) -> list[uuid.UUID]:
    """Walk every page with keyset cursors."""
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = await library.list_library(session, user_id, first=first, after=after, order=order)
        assert page.total_count == 4
        seen += [e.audiobook.id for e in page.items]
        if not page.has_next_page:
            return seen
        after = page.cursors[-1]


async def test_library_orders_by_purchase_or_by_last_listened_across_pages(session: AsyncSession) -> None:
    user = await make_user(session)
    books = [await make_book(session) for _ in range(4)]
    for book in books:  # granted one after the other: books[3] is the most recent purchase
        await add_file(session, book, position=0)
        await entitlements.grant(session, user.id, [book.id], None)
    for book in (books[0], books[2]):  # books[2] listened to last
        await progress.save_progress(session, user_id=user.id, audiobook_id=book.id, position_seconds=5)

    purchased = [b.id for b in reversed(books)]
    listened = [books[2].id, books[0].id, books[3].id, books[1].id]
    for first in (1, 3, 10):
        assert await _ids(session, user.id, LibraryOrder.RECENTLY_PURCHASED, first) == purchased
        assert await _ids(session, user.id, LibraryOrder.RECENTLY_LISTENED, first) == listened

    with pytest.raises(ServiceError) as bad:
        await library.list_library(session, user.id, first=1, after="bm90LWpzb24", order=LibraryOrder.RECENTLY_LISTENED)
    assert bad.value.code == ErrorCode.INVALID
    purchase_cursor = (await library.list_library(session, user.id, first=1, after=None)).cursors[0]
    with pytest.raises(ServiceError):  # a cursor of the other order is refused, not misread
        await library.list_library(
            session, user.id, first=1, after=purchase_cursor, order=LibraryOrder.RECENTLY_LISTENED
        )


async def test_library_search_and_revocation(session: AsyncSession) -> None:
    user = await make_user(session)
    word = unique("zebrafinch").replace("-", "")
    wanted = await make_book(session, title=f"The {word} Chronicles")
    other = await make_book(session)
    await entitlements.grant(session, user.id, [wanted.id, other.id], None)
    found = await library.list_library(session, user.id, first=10, after=None, search=word)
    assert [e.audiobook.id for e in found.items] == [wanted.id] and found.total_count == 1

    order_less = await library.list_library(session, user.id, first=10, after=None)
    assert order_less.total_count == 2
    await session.execute(
        update(Entitlement).where(Entitlement.audiobook_id == other.id).values(revoked_at=NOW)  # type: ignore[arg-type]
    )
    after_revoke = await library.list_library(session, user.id, first=10, after=None)
    assert [e.audiobook.id for e in after_revoke.items] == [wanted.id]


async def test_authorize_key_follows_entitlement_and_role(session: AsyncSession) -> None:
    owner = await make_user(session)
    stranger = await make_user(session)
    admin = await make_user(session, Role.ADMIN)
    book = await make_book(session)
    audio = await add_file(session, book, position=0)
    await entitlements.grant(session, owner.id, [book.id], None)
    transcript = storage_keys.transcript_key(book.id, "vtt")
    stray = f"audiobooks/{book.id}/uploads/part-1"

    assert await downloads.authorize_key(session, audio.storage_key, str(owner.id))
    assert await downloads.authorize_key(session, transcript, str(owner.id))
    assert not await downloads.authorize_key(session, stray, str(owner.id)), "only the book's files and transcripts"
    assert not await downloads.authorize_key(session, audio.storage_key, str(stranger.id))
    assert not await downloads.authorize_key(session, audio.storage_key, None)
    assert not await downloads.authorize_key(session, audio.storage_key, "not-a-uuid")
    assert not await downloads.authorize_key(session, audio.storage_key, str(uuid.uuid4()))
    assert await downloads.authorize_key(session, stray, str(admin.id))
    assert await downloads.authorize_key(session, "anything/else", str(admin.id))
    assert not await downloads.authorize_key(session, "anything/else", str(owner.id))

    target = await downloads.resolve_key(session, audio.storage_key)
    assert target == downloads.KeyTarget(book.id, DownloadKind.AUDIO, audio.id)
    assert await downloads.resolve_key(session, transcript) == downloads.KeyTarget(book.id, DownloadKind.TRANSCRIPT_VTT)


async def test_download_stats_and_grants(session: AsyncSession) -> None:
    user = await make_user(session)
    other = await make_user(session)
    book = await make_book(session)
    audio = await add_file(session, book, position=0, size=500)
    with pytest.raises(ServiceError) as no_user:
        await library.grant_audiobook(session, uuid.uuid4(), book.id)
    assert (no_user.value.code, no_user.value.field) == (ErrorCode.NOT_FOUND, "userId")
    with pytest.raises(ServiceError) as no_book:
        await library.grant_audiobook(session, user.id, uuid.uuid4())
    assert (no_book.value.code, no_book.value.field) == (ErrorCode.NOT_FOUND, "audiobookId")
    assert (await library.grant_audiobook(session, user.id, book.id)).id == book.id
    assert (await library.grant_audiobook(session, user.id, book.id)).id == book.id  # idempotent
    assert await entitlements.is_entitled(session, user.id, book.id)

    _, empty = await downloads.download_stats(session, book.id)
    assert (empty.request_count, empty.download_count, empty.unique_users, empty.last_downloaded_at) == (0, 0, 0, None)
    for uid, start in ((user.id, 0), (user.id, 100), (other.id, 0)):
        await downloads.record_key_download(
            session, key=audio.storage_key, user_id=str(uid), range_start=start, range_end=499
        )
    await downloads.record_download(session, user_id=user.id, audiobook_id=book.id, kind=DownloadKind.BUNDLE)
    _, stats = await downloads.download_stats(session, book.id)
    assert (stats.request_count, stats.download_count, stats.unique_users) == (4, 3, 2)
    assert stats.by_kind == {DownloadKind.AUDIO: 2, DownloadKind.BUNDLE: 1}
    assert stats.last_downloaded_at is not None
    with pytest.raises(ServiceError):
        await downloads.download_stats(session, uuid.uuid4())
