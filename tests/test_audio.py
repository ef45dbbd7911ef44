from __future__ import annotations

import itertools
import wave
from pathlib import Path

import pytest

from audiocity.audio import AudioInfo, NotAudioError, probe, split_for_transcription
from tests.fixtures.audio import speech_fixtures, tone_file, truncated_copy

SILENCES = [(8.0, 8.6), (16.5, 17.1)]


def test_probe_speech_fixture() -> None:
    info = probe(speech_fixtures()[0])
    assert isinstance(info, AudioInfo)
    assert info.container == "mp3"
    assert info.codec == "mp3"
    assert info.sample_rate == 16000
    assert info.channels == 1
    assert info.bitrate == 32000
    assert 10 < info.duration_seconds < 25


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a"])
def test_probe_generated_formats(tmp_path: Path, suffix: str) -> None:
    info = probe(tone_file(tmp_path / f"tone{suffix}", 5))
    assert info.duration_seconds == pytest.approx(5, abs=0.2)  # AAC adds priming samples
    assert info.channels == 1


def test_text_file_renamed_mp3(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("Chapter one. This is a text file, not an audiobook.\n" * 50)
    with pytest.raises(NotAudioError, match=r"notes\.mp3"):
        probe(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.touch()
    with pytest.raises(NotAudioError, match="empty"):
        probe(path)


def test_missing_file_is_not_a_not_audio_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "missing.mp3")


@pytest.mark.parametrize("name", [p.name for p in speech_fixtures()])
def test_truncated_mp3(tmp_path: Path, name: str) -> None:
    cut = truncated_copy(speech_fixtures()[0].parent / name, tmp_path / name, fraction=0.5)
    with pytest.raises(NotAudioError, match="truncated"):
        probe(cut)


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_truncated_generated(tmp_path: Path, suffix: str) -> None:
    whole = tone_file(tmp_path / f"whole{suffix}", 20)
    cut = truncated_copy(whole, tmp_path / f"cut{suffix}", fraction=0.6)
    with pytest.raises(NotAudioError, match="truncated"):
        probe(cut)


def test_truncated_m4a_is_rejected(tmp_path: Path) -> None:
    # MP4 keeps its index at the end unless written "faststart": cut, it cannot even be opened.
    whole = tone_file(tmp_path / "whole.m4a", 20)
    with pytest.raises(NotAudioError):
        probe(truncated_copy(whole, tmp_path / "cut.m4a"))


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_split_cuts_in_silences(tmp_path: Path, suffix: str) -> None:
    source = tone_file(tmp_path / f"long{suffix}", 25, SILENCES)
    chunks = split_for_transcription(source, tmp_path / "chunks", max_seconds=10)

    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len(chunks) == 3
    assert chunks[0].start_seconds == 0
    assert chunks[-1].end_seconds == pytest.approx(25, abs=0.1)
    for before, after in itertools.pairwise(chunks):
        assert before.end_seconds == after.start_seconds
    for chunk, (silence_start, silence_end) in zip(chunks, SILENCES, strict=False):
        assert silence_start < chunk.end_seconds < silence_end
    for chunk in chunks:
        assert chunk.end_seconds - chunk.start_seconds <= 10
        with wave.open(str(chunk.path)) as w:
            assert w.getframerate() == 16000
            assert w.getnchannels() == 1
            assert w.getsampwidth() == 2
            assert w.getnframes() / 16000 == pytest.approx(chunk.end_seconds - chunk.start_seconds)
        assert probe(chunk.path).duration_seconds == pytest.approx(chunk.duration_seconds)


def test_split_without_silence_still_respects_the_limit(tmp_path: Path) -> None:
    source = tone_file(tmp_path / "flat.wav", 21)
    chunks = split_for_transcription(source, tmp_path / "chunks", max_seconds=8)
    assert all(c.duration_seconds <= 8 for c in chunks)
    assert sum(c.duration_seconds for c in chunks) == pytest.approx(21, abs=0.01)


def test_short_file_is_one_chunk(tmp_path: Path) -> None:
    source = speech_fixtures()[0]
    chunks = split_for_transcription(source, tmp_path / "chunks", max_seconds=600)
    assert len(chunks) == 1
    assert chunks[0].start_seconds == 0
    assert chunks[0].end_seconds == pytest.approx(probe(source).duration_seconds, abs=0.05)
