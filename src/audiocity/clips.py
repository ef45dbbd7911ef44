"""Audio measured and cut for the catalog, with PyAV: long pauses (chapter starts) and preview clips.

Both decode to mono 16-bit samples and count samples themselves (timestamps in real files have gaps
and jumps), the same way `audiocity.audio` cuts transcription chunks, so times agree with the transcript.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from audiocity.audio import NotAudioError

ANALYSIS_RATE = 16000
FRAME_SECONDS = 0.05  # RMS over 50 ms frames
SILENCE_DBFS = -40.0  # a frame quieter than this (relative to full scale) is silent
CLIP_RATE = 24000
CLIP_CONTENT_TYPE = "audio/mp4"
CLIP_EXTENSION = ".m4a"


@dataclass(frozen=True)
class Silence:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ClipPart:
    """Take [start, end) seconds of `path` (a file of the book, in play order)."""

    path: Path
    start: float
    end: float


def _mono(path: Path, rate: int) -> Iterator[np.ndarray]:
    """1-D int16 arrays of the file's first audio stream, resampled to mono at `rate`."""
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise NotAudioError(f"{path.name!r} could not be read as audio.") from exc
    with container:
        if not container.streams.audio:
            raise NotAudioError(f"{path.name!r} contains no audio stream.")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue  # a damaged packet: the probe at upload time already judged the file usable
            for frame in frames:
                frame.pts = None
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)


def find_silences(path: Path, min_seconds: float, threshold_dbfs: float = SILENCE_DBFS) -> list[Silence]:
    """Stretches of at least `min_seconds` whose 50 ms frames are all quieter than `threshold_dbfs`."""
    window = int(ANALYSIS_RATE * FRAME_SECONDS)
    limit = 32768.0 * 10 ** (threshold_dbfs / 20)
    found: list[Silence] = []
    pending = np.zeros(0, dtype=np.int16)
    index = 0  # frames seen
    quiet_from: int | None = None

    def close(at: int) -> None:
        nonlocal quiet_from
        if quiet_from is not None and (at - quiet_from) * FRAME_SECONDS >= min_seconds:
            found.append(Silence(round(quiet_from * FRAME_SECONDS, 3), round(at * FRAME_SECONDS, 3)))
        quiet_from = None

    for block in _mono(path, ANALYSIS_RATE):
        pending = np.concatenate([pending, block])
        count = pending.size // window
        if count == 0:
            continue
        frames = pending[: count * window].astype(np.float64).reshape(count, window)
        pending = pending[count * window :]
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        for value in rms:
            if value < limit:
                if quiet_from is None:
                    quiet_from = index
            else:
                close(index)
            index += 1
    close(index)
    return found


def cut_clip(parts: Sequence[ClipPart], out: Path, bit_rate: int = 48_000) -> float:
    """Decode the parts one after another and encode them as one mono AAC file; returns its seconds."""
    written = 0
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=CLIP_RATE, layout="mono")
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = bit_rate
        encoder = av.AudioResampler(format=stream.format, layout="mono", rate=CLIP_RATE)
        for part in parts:
            first, last = int(part.start * CLIP_RATE), int(part.end * CLIP_RATE)
            position = 0
            for block in _mono(part.path, CLIP_RATE):
                begin, end = max(first, position), min(last, position + block.size)
                if end > begin:
                    piece = np.ascontiguousarray(block[begin - position : end - position].reshape(1, -1))
                    frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
                    frame.sample_rate = CLIP_RATE
                    for converted in encoder.resample(frame):
                        container.mux(stream.encode(converted))
                    written += end - begin
                position += block.size
                if position >= last:
                    break
        for converted in encoder.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return written / CLIP_RATE
