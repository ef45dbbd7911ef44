"""The AI contract: audio in, timed text out; text in, a summary and three tags out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class PermanentAIError(Exception):
    """Retrying cannot help (bad audio, a 400, refused content): fail the job at once."""


class TransientAIError(Exception):
    """A retry may help (429, 5xx, timeouts, dropped connections).

    `retry_after` is the wait in seconds the server asked for (Retry-After), if it asked;
    `rate_limited` says the provider throttled us (429), so fewer requests at once would help.
    """

    def __init__(self, message: str, retry_after: float | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcription:
    """One chunk's text; segment times are relative to the chunk's start.

    `input_tokens` / `output_tokens` are filled by token-billed models (gpt-4o-*-transcribe);
    duration-billed ones (whisper-1, local) bill `audio_seconds`.
    """

    text: str
    segments: list[Segment] = field(default_factory=list)
    audio_seconds: float = 0.0
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Summary:
    summary: str
    tags: list[str]
    provider: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 1


class Transcriber(Protocol):
    name: str
    # How many chunks the backend usefully transcribes at once (None: no limit of its own). The
    # pipeline runs min(this, TRANSCRIPTION_CONCURRENCY) requests at a time.
    max_concurrency: int | None

    async def transcribe(
        self, audio_path: Path, *, prompt: str | None = None, duration: float | None = None
    ) -> Transcription:
        """Transcribe one chunk (at most 10 minutes of 16 kHz mono audio).

        `prompt` is the previous chunk's text (backends keep only its tail); `duration` is the chunk's
        length in seconds when the caller knows it, which saves probing the file.
        """
        ...


class Summarizer(Protocol):
    name: str

    async def summarize(self, text: str) -> Summary:
        """One paragraph and exactly three distinct lowercase tags, from the opening section of `text`."""
        ...


def first_section(text: str, max_chars: int) -> str:
    """The first `max_chars` characters of `text`, cut at a word boundary: what a summary is made from."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip()


# Both embedding providers write vectors of this many numbers into one column (OpenAI's
# text-embedding-3 models are asked for `dimensions=384`); vectors of different models are never compared.
EMBEDDING_DIMENSIONS = 384


@dataclass
class Embeddings:
    """Unit-length vectors, one per input text, in input order; `tokens` is what the provider billed."""

    vectors: list[list[float]]
    provider: str = ""
    model: str = ""
    tokens: int = 0


class Embedder(Protocol):
    name: str  # the provider: "openai" or "local"
    model: str  # stored with every vector, so vectors of another model are never compared with it

    async def embed(self, texts: list[str]) -> Embeddings:
        """One vector of EMBEDDING_DIMENSIONS numbers per text (at most a few hundred texts per call)."""
        ...
