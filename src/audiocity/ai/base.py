"""The AI contract: audio in, timed text out; text in, a summary and three tags out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class PermanentAIError(Exception):
    """Retrying cannot help (bad audio, a 400, refused content): fail the job at once."""


class TransientAIError(Exception):
    """A retry may help (429, 5xx, timeouts, dropped connections)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcription:
    text: str
    segments: list[Segment] = field(default_factory=list)
    audio_seconds: float = 0.0
    provider: str = ""
    model: str = ""


@dataclass
class Summary:
    summary: str
    tags: list[str]
    provider: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Transcriber(Protocol):
    name: str

    async def transcribe(self, audio_path: Path, *, prompt: str | None = None) -> Transcription:
        """Transcribe one chunk (at most ~10 minutes of 16 kHz mono audio)."""
        ...


class Summarizer(Protocol):
    name: str

    async def summarize(self, text: str) -> Summary:
        """One paragraph and exactly three distinct lowercase tags."""
        ...
