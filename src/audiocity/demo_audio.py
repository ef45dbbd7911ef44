"""Audio for demo books: spoken chapters (espeak-ng where installed, else tones) with pauses between.

Each chapter is its heading ("Chapter one.") and a few sentences, followed by PAUSE_SECONDS of
silence, so the pipeline finds the chapters by heading and by pause. Without espeak-ng each
sentence is a short tone instead: transcription then finds no words, and chapters come from the
pauses alone.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000
PAUSE_SECONDS = 2.5
VOICE = "en-us"
WORDS_PER_MINUTE = 160


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def _spoken(text: str) -> np.ndarray:
    """espeak-ng's speech of `text` as mono float32 at SAMPLE_RATE."""
    with tempfile.TemporaryDirectory(prefix="audiocity-speech-") as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(path), text],
            check=True,
            capture_output=True,
        )
        with wave.open(str(path)) as wav:
            rate, raw = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:  # espeak-ng speaks at 22050 Hz: resample by interpolation
        positions = np.arange(int(samples.size * SAMPLE_RATE / rate)) * rate / SAMPLE_RATE
        samples = np.interp(positions, np.arange(samples.size), samples).astype(np.float32)
    return samples


def _tone(seconds: float, pitch: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * pitch * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


def chapter_audio(chapters: Sequence[tuple[str, Sequence[str]]], speech: bool) -> np.ndarray:
    """(heading, sentences) per chapter, each followed by a pause."""
    pieces: list[np.ndarray] = []
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), dtype=np.float32)
    for n, (heading, sentences) in enumerate(chapters):
        if speech:
            pieces.append(_spoken(f"{heading}. " + " ".join(sentences)))
        else:
            pieces += [
                _tone(1.0 + 0.25 * len(s.split()) / 3, 180.0 + 20 * ((n + i) % 5)) for i, s in enumerate(sentences)
            ]
        pieces.append(pause)
    return np.concatenate(pieces) if pieces else pause


def write_audio(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, bit_rate: int = 32000) -> Path:
    """Encode mono float samples in [-1, 1] to `path`: .wav (PCM s16), .mp3 (libmp3lame) or .m4a (AAC)."""
    codec = {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".m4a": "aac"}[path.suffix]
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sample_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        if codec != "pcm_s16le":
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.format, layout="mono", rate=sample_rate)
        for begin in range(0, pcm.shape[1], sample_rate):  # a second at a time, as a decoder would
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, begin : begin + sample_rate]), format="s16", layout="mono"
            )
            frame.sample_rate = sample_rate
            for converted in resampler.resample(frame):
                container.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return path
