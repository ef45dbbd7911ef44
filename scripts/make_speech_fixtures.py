"""Regenerate the committed speech fixtures in tests/fixtures/speech/.

espeak-ng speaks each passage to a WAV file; PyAV encodes it as a small mono MP3 (16 kHz, 32 kbit/s)
and the exact text goes next to it as NAME.txt. espeak-ng is only needed here, not on CI machines,
which is why the outputs are committed. Run from the repository root:

    .venv/bin/python scripts/make_speech_fixtures.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "speech"
SAMPLE_RATE = 16000
BIT_RATE = 32000
VOICE = "en-us"
WORDS_PER_MINUTE = 150

PASSAGES = {
    "library": (
        "The city library stood at the corner of the old square. Every morning the librarian "
        "unlocked the heavy oak doors and opened the tall windows. Children came after school to "
        "read stories about dragons and ships, while their grandparents studied maps of distant "
        "countries in the quiet reading room."
    ),
    "river": (
        "We left the harbour at dawn and followed the river inland for many days. The water was "
        "brown and slow, and tall green reeds grew along both banks. In the evening we tied the boat "
        "to a willow tree, cooked fish over a small fire, and listened to the frogs singing in the dark."
    ),
    "lighthouse": (
        "The lighthouse keeper lived alone on a rocky island far from the coast. Each night he "
        "climbed the spiral stairs, lit the great lamp, and watched the beam sweep across the waves. "
        "When storms came, he wrote long letters to his sister and waited for the supply boat."
    ),
}


def speak(text: str, wav_path: Path) -> None:
    subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(wav_path), text],
        check=True,
    )


def encode_mp3(wav_path: Path, mp3_path: Path) -> float:
    """Re-encode a WAV file as mono MP3; returns the duration in seconds."""
    with av.open(str(wav_path)) as source, av.open(str(mp3_path), "w", format="mp3") as target:
        in_stream = source.streams.audio[0]
        out_stream = target.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        out_stream.bit_rate = BIT_RATE
        resampler = av.AudioResampler(format=out_stream.format, layout="mono", rate=SAMPLE_RATE)
        samples = 0
        for frame in source.decode(in_stream):
            for resampled in resampler.resample(frame):
                samples += resampled.samples
                target.mux(out_stream.encode(resampled))
        for resampled in resampler.resample(None):
            samples += resampled.samples
            target.mux(out_stream.encode(resampled))
        target.mux(out_stream.encode(None))
    return samples / SAMPLE_RATE


def main() -> int:
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 1
    if "libmp3lame" not in av.codecs_available:
        print("this PyAV build has no MP3 encoder (libmp3lame)", file=sys.stderr)
        return 1
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in PASSAGES.items():
            wav_path = Path(tmp) / f"{name}.wav"
            speak(text, wav_path)
            seconds = encode_mp3(wav_path, OUT_DIR / f"{name}.mp3")
            (OUT_DIR / f"{name}.txt").write_text(text + "\n")
            size = (OUT_DIR / f"{name}.mp3").stat().st_size
            print(f"{name}: {seconds:.1f} s, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
