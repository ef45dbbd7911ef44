"""What downloaded files are called: the names a listener sees in links and inside a bundle."""

from __future__ import annotations

from audiocity.models import Audiobook, AudioFile, DownloadKind

TRANSCRIPT_FORMATS = (
    (DownloadKind.TRANSCRIPT_TEXT, "txt", "text/plain; charset=utf-8"),
    (DownloadKind.TRANSCRIPT_VTT, "vtt", "text/vtt; charset=utf-8"),
    (DownloadKind.CHAPTERS_VTT, "chapters.vtt", "text/vtt; charset=utf-8"),  # only once the book has chapters
)


def audio_file_name(f: AudioFile) -> str:
    """Numbered by play order so a folder of downloads sorts the way the book plays."""
    return f"{f.position + 1:02d} - {f.file_name}"


def transcript_file_name(book: Audiobook, fmt: str) -> str:
    if fmt == "chapters.vtt":
        return f"{book.title} - chapters.vtt"
    return f"{book.title} - transcript.{fmt}"
