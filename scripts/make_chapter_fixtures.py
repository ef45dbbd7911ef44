"""Regenerate tests/fixtures/chapters/: a two-file book of espeak-ng speech with spoken chapter headings.

File 1: "Chapter one." and its text, a pause, "Chapter two." and its text, a pause.
File 2: more of chapter two, a pause, "Chapter three." and its text.
The pauses are PAUSE_SECONDS of digital silence; `chapters.json` records where each heading starts
on the book's timeline. Needs espeak-ng (apt-get install espeak-ng); CI uses the committed files.

    .venv/bin/python scripts/make_chapter_fixtures.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from audiocity import demo_audio
from audiocity.demo_audio import SAMPLE_RATE

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "chapters"
PAUSE_SECONDS = 2.5
FILES = [
    [
        "Chapter one. The keeper climbed the stairs and lit the lamp.",
        "Chapter two. A storm came in from the sea.",
    ],
    [
        "The waves broke over the rocks all night long.",
        "Chapter three. In the morning the boat arrived.",
    ],
]


def main() -> int:
    if not demo_audio.have_espeak():
        print("espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 1
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), dtype=np.float32)
    offset = 0.0
    headings: list[dict[str, object]] = []
    for n, texts in enumerate(FILES, start=1):
        pieces: list[np.ndarray] = [pause[: SAMPLE_RATE // 2]]
        for text in texts:
            start = offset + sum(p.size for p in pieces) / SAMPLE_RATE
            if text.startswith("Chapter"):
                headings.append({"title": text.split(".")[0], "start_seconds": round(start, 3)})
            pieces += [demo_audio._spoken(text), pause]
        samples = np.concatenate(pieces)
        demo_audio.write_audio(OUT_DIR / f"part-{n}.mp3", samples)
        offset += samples.size / SAMPLE_RATE
    (OUT_DIR / "chapters.json").write_text(
        json.dumps({"headings": headings, "pause_seconds": PAUSE_SECONDS}, indent=2) + "\n"
    )
    print(json.dumps(headings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
