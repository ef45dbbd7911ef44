from __future__ import annotations

import re
import time
from pathlib import Path

import jiwer
import pytest

from audiocity.ai import get_summarizer, get_transcriber
from audiocity.ai.base import PermanentAIError
from audiocity.ai.local import DEFAULT_TAGS, LocalSummarizer, LocalWhisperTranscriber
from audiocity.audio import split_for_transcription
from audiocity.config import Settings
from tests.fixtures.audio import speech_fixtures

MAX_WER = 0.35


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def assert_tags(tags: list[str]) -> None:
    assert len(tags) == 3
    assert len(set(tags)) == 3
    for tag in tags:
        assert tag == tag.lower().strip()
        assert re.fullmatch(r"[a-z0-9' ]+", tag), tag


@pytest.fixture(scope="module")
def transcriber() -> LocalWhisperTranscriber:
    transcriber = LocalWhisperTranscriber(cpu_threads=2)
    transcriber.load()  # so the speed printed below is transcription only
    return transcriber


@pytest.mark.parametrize("audio", speech_fixtures(), ids=lambda p: p.stem)
async def test_transcribe_speech_fixture(tmp_path: Path, audio: Path, transcriber: LocalWhisperTranscriber) -> None:
    chunks = split_for_transcription(audio, tmp_path, max_seconds=600)
    started = time.perf_counter()
    results = [await transcriber.transcribe(chunk.path) for chunk in chunks]
    elapsed = time.perf_counter() - started

    text = " ".join(r.text for r in results)
    reference = audio.with_suffix(".txt").read_text()
    error_rate = jiwer.wer(normalize(reference), normalize(text))
    audio_seconds = sum(r.audio_seconds for r in results)
    print(f"{audio.stem}: WER {error_rate:.3f}, {audio_seconds / elapsed:.1f}x real time")
    assert error_rate <= MAX_WER, text

    result = results[0]
    assert (result.provider, result.model) == ("local", "tiny.en")
    assert result.audio_seconds == pytest.approx(chunks[0].duration_seconds, abs=0.05)
    assert result.segments
    for segment in result.segments:
        assert 0 <= segment.start < segment.end <= result.audio_seconds + 0.5


async def test_transcribe_with_prompt(tmp_path: Path, transcriber: LocalWhisperTranscriber) -> None:
    audio = speech_fixtures()[0]
    (chunk,) = split_for_transcription(audio, tmp_path)
    result = await transcriber.transcribe(chunk.path, prompt="The previous chapter ended.")
    assert result.text


async def test_transcribe_garbage_is_permanent(tmp_path: Path, transcriber: LocalWhisperTranscriber) -> None:
    path = tmp_path / "garbage.wav"
    path.write_text("not audio at all\n" * 100)
    with pytest.raises(PermanentAIError):
        await transcriber.transcribe(path)


@pytest.mark.parametrize("audio", speech_fixtures(), ids=lambda p: p.stem)
async def test_summarize_reference_text(audio: Path) -> None:
    text = audio.with_suffix(".txt").read_text()
    summary = await LocalSummarizer().summarize(text)
    assert summary.summary
    assert "\n" not in summary.summary
    assert len(summary.summary) <= len(text)
    assert summary.provider == "local"
    assert_tags(summary.tags)
    assert not set(summary.tags) & set(DEFAULT_TAGS)  # real text gives real tags


async def test_summarize_without_punctuation() -> None:
    words = normalize(" ".join(p.with_suffix(".txt").read_text() for p in speech_fixtures())).split()
    text = " ".join((words * 3)[:300])  # 300 words, no sentence punctuation at all
    summary = await LocalSummarizer(sentences=3).summarize(text)
    assert summary.summary
    assert len(summary.summary.split()) <= 3 * 30
    assert summary.summary.endswith(".")
    assert_tags(summary.tags)


async def test_summarize_first_section_only() -> None:
    opening = speech_fixtures()[0].with_suffix(".txt").read_text()
    summary = await LocalSummarizer(max_chars=len(opening)).summarize(opening + " Zebra zebra." * 500)
    assert "zebra" not in summary.summary.lower()


@pytest.mark.parametrize("text", ["", "   ", "Hi.", "the and of"])
async def test_summarize_empty_or_tiny_text(text: str) -> None:
    summary = await LocalSummarizer().summarize(text)
    assert_tags(summary.tags)
    if not text.strip():
        assert summary.summary == ""
        assert summary.tags == list(DEFAULT_TAGS[:3])


def test_factories_choose_local_without_api_key() -> None:
    settings = Settings(OPENAI_API_KEY=None, LOCAL_WHISPER_THREADS=1)
    transcriber = get_transcriber(settings)
    assert isinstance(transcriber, LocalWhisperTranscriber)
    assert transcriber.cpu_threads == 1
    assert transcriber.name == "local-whisper"
    summarizer = get_summarizer(settings)
    assert isinstance(summarizer, LocalSummarizer)
    assert summarizer.name == "local"
