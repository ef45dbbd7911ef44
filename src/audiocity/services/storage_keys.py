"""The layout of object keys in storage, written and read in one place.

    audiobooks/<book id>/files/<file id><.ext>      an audio file
    audiobooks/<book id>/transcript.<txt|vtt>       the book's transcript
    audiobooks/<book id>/cover/<token>/<size>.webp  the uploaded cover, re-encoded (`full`) and its
                                                    thumbnails by width; a new token per upload
    audiobooks/<book id>/transcript.chapters.vtt    its chapters as WebVTT
    audiobooks/<book id>/preview-<id>.m4a           its public sample clip (a new key per cut)

Everything that makes a key or works out what a key names (download checks, the audit) goes
through here, so the layout can change in one module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

BOOKS = "audiobooks"
FILES = "files"
TRANSCRIPT = "transcript"
CHAPTERS_FORMAT = "chapters.vtt"
TRANSCRIPT_EXTENSIONS = ("txt", "vtt", CHAPTERS_FORMAT)
PREVIEW = "preview"
COVER = "cover"
COVER_FULL = "full"
COVER_EXTENSION = "webp"
_UUID_CHARS = frozenset("0123456789abcdefABCDEF-")


def audio_file_key(audiobook_id: uuid.UUID, file_id: uuid.UUID, file_name: str) -> str:
    """Where an audio file's bytes live; keeps a short alphanumeric extension of the uploaded name."""
    suffix = PurePosixPath(file_name).suffix.lower()[:10]
    if not suffix[1:].isalnum():
        suffix = ""
    return f"{BOOKS}/{audiobook_id}/{FILES}/{file_id}{suffix}"


def transcript_key(audiobook_id: uuid.UUID, fmt: str) -> str:
    return f"{BOOKS}/{audiobook_id}/{TRANSCRIPT}.{fmt}"


def cover_prefix(audiobook_id: uuid.UUID, token: str) -> str:
    """The folder of one uploaded cover; stored on the book as `cover_key`."""
    return f"{BOOKS}/{audiobook_id}/{COVER}/{token}"


def cover_image_key(prefix: str, size: int | None) -> str:
    """One rendition of a cover: the re-encoded full image (`size` None) or the thumbnail `size` px wide."""
    return f"{prefix}/{COVER_FULL if size is None else size}.{COVER_EXTENSION}"


def cover_keys(prefix: str | None, sizes: list[int]) -> list[str]:
    """Every object of a stored cover (none when the book has no uploaded cover)."""
    if not prefix:
        return []
    return [cover_image_key(prefix, None), *(cover_image_key(prefix, s) for s in sizes)]


def preview_key(audiobook_id: uuid.UUID, extension: str) -> str:
    """A fresh key per cut, so a new clip never overwrites the one being served."""
    return f"{BOOKS}/{audiobook_id}/{PREVIEW}-{uuid.uuid4().hex}{extension}"


@dataclass(frozen=True)
class ParsedKey:
    """What a key under a book's prefix names: a transcript format, a cover, or (maybe) one of its files."""

    audiobook_id: uuid.UUID
    transcript_format: str | None  # "txt" / "vtt" / "chapters.vtt" for a transcript, else None
    cover: bool = False  # one of the book's cover images: public while the book is


def parse(key: str) -> ParsedKey | None:
    """The book a key belongs to, and whether it is a transcript; None for keys outside any book."""
    books, _, rest = key.partition("/")
    raw_id, _, name = rest.partition("/")
    if books != BOOKS or not name or len(raw_id) != 36 or not set(raw_id) <= _UUID_CHARS:
        return None
    try:
        audiobook_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    if name.startswith(f"{COVER}/"):
        return ParsedKey(audiobook_id, None, cover=True)
    stem, dot, ext = name.partition(".")
    if stem == TRANSCRIPT and dot and ext in TRANSCRIPT_EXTENSIONS:
        return ParsedKey(audiobook_id, ext)
    return ParsedKey(audiobook_id, None)
