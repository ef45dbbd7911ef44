"""Minting download links: play order, names, expiry, and what each backend puts in the URL."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from audiocity.models import Audiobook, AudioFile, DownloadKind, TranscriptStatus
from audiocity.services import downloads, storage_keys
from audiocity.storage.gcs import GCSStorage
from audiocity.storage.local import LocalStorage
from audiocity.storage.signing import content_disposition, verify
from tests.storage.gcs_emulator import service_account_signer

USER = uuid.uuid4()


def _book(status: TranscriptStatus = TranscriptStatus.READY) -> tuple[Audiobook, list[AudioFile]]:
    book = Audiobook(id=uuid.uuid4(), title="Été à Paris", price_cents=1, transcript_status=status)
    files = [
        AudioFile(
            id=uuid.uuid4(),
            audiobook_id=book.id,
            position=i,
            file_name=name,
            content_type="audio/mp4",
            size_bytes=10 + i,
            storage_key=f"audiobooks/{book.id}/files/{i}.m4a",
        )
        for i, name in enumerate(["intro.m4a", "chapter one.m4a"])
    ]
    return book, files


def test_local_links_sign_key_expiry_user_name_and_type(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "links-secret", "http://app.test")
    book, files = _book()
    links = downloads.download_links(
        storage, user_id=USER, book=book, files=files, ttl_seconds=600, transcript_bytes={"txt": 5, "vtt": 9}
    )
    assert [(link.kind, link.file_name, link.size_bytes) for link in links] == [
        (DownloadKind.AUDIO, "01 - intro.m4a", 10),
        (DownloadKind.AUDIO, "02 - chapter one.m4a", 11),
        (DownloadKind.TRANSCRIPT_TEXT, "Été à Paris - transcript.txt", 5),
        (DownloadKind.TRANSCRIPT_VTT, "Été à Paris - transcript.vtt", 9),
    ]
    for link, key, ctype in zip(
        links,
        [f.storage_key for f in files] + [storage_keys.transcript_key(book.id, f) for f in ("txt", "vtt")],
        ["audio/mp4", "audio/mp4", "text/plain; charset=utf-8", "text/vtt; charset=utf-8"],
        strict=True,
    ):
        parts = urlsplit(link.url)
        grant = verify("links-secret", parts.path.removeprefix("/files/"), dict(parse_qsl(parts.query)))
        assert grant is not None and grant.key == key
        assert (grant.user_id, grant.filename, grant.content_type) == (str(USER), link.file_name, ctype)
        assert abs(grant.expires_at - (time.time() + 600)) < 5
        assert int(link.expires_at.timestamp()) == grant.expires_at

    pending, pending_files = _book(TranscriptStatus.RUNNING)
    only_audio = downloads.download_links(storage, user_id=USER, book=pending, files=pending_files, ttl_seconds=60)
    assert [link.kind for link in only_audio] == [DownloadKind.AUDIO, DownloadKind.AUDIO]


def test_gcs_links_are_v4_signed_with_response_type_and_disposition() -> None:
    credentials, _ = service_account_signer()
    client = gcs.Client(project="audiocity-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    storage = GCSStorage("books-bucket", client=client, signing_credentials=credentials)
    book, files = _book()
    links = downloads.download_links(storage, user_id=USER, book=book, files=files, ttl_seconds=900)
    for link in links:
        query = dict(parse_qsl(urlsplit(link.url).query))
        assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
        assert query["X-Goog-Expires"] == "900"
        assert query["response-content-disposition"] == content_disposition(link.file_name)
        assert query["response-content-type"] in ("audio/mp4", "text/plain; charset=utf-8", "text/vtt; charset=utf-8")
    assert urlsplit(links[0].url).path == f"/books-bucket/{files[0].storage_key}"
