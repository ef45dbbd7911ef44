"""The key layout is written and read by one module: every key it writes, it reads back."""

import uuid

from audiocity.services import storage_keys


def test_keys_it_writes_it_reads_back() -> None:
    book, file = uuid.uuid4(), uuid.uuid4()
    audio = storage_keys.audio_file_key(book, file, "Chapter 1.MP3")
    assert audio == f"audiobooks/{book}/files/{file}.mp3"
    assert storage_keys.parse(audio) == storage_keys.ParsedKey(book, None)
    for fmt in ("txt", "vtt"):
        assert storage_keys.parse(storage_keys.transcript_key(book, fmt)) == storage_keys.ParsedKey(book, fmt)


def test_odd_names_lose_their_extension() -> None:
    book, file = uuid.uuid4(), uuid.uuid4()
    assert storage_keys.audio_file_key(book, file, "notes.m-p3").endswith(str(file))
    assert storage_keys.audio_file_key(book, file, "no extension").endswith(str(file))


def test_keys_outside_any_book() -> None:
    book = uuid.uuid4()
    for key in (
        "audiobooks",
        f"audiobooks/{book}",
        f"audiobooks/{book}/",
        f"covers/{book}/x.png",
        "audiobooks/not-a-uuid-but-thirty-six-characters/x",
        f"audiobooks/+{str(book)[1:]}/x",
    ):
        assert storage_keys.parse(key) is None, key
    assert storage_keys.parse(f"audiobooks/{book}/transcript.txt.bak") == storage_keys.ParsedKey(book, None)
