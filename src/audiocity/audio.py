"""Probe uploaded audio and cut it into transcription-sized WAV chunks, with PyAV (no system ffmpeg).

Both functions stream: they decode packet by packet and never hold more than one chunk of samples.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer

# A file is "corrupt" rather than "has a glitch" when more than this share of its packets fail to decode.
MAX_BAD_PACKET_RATIO = 0.01
# Shortfall against the declared duration that we forgive (encoder padding, rounding): max(1 s, 1 %).
TRUNCATION_SLACK_SECONDS = 1.0
TRUNCATION_SLACK_RATIO = 0.01
# Cut points are looked for in the last SEARCH_SECONDS of a chunk (at most a quarter of the chunk),
# by the RMS of RMS_WINDOW_SECONDS windows.
SEARCH_SECONDS = 30.0
RMS_WINDOW_SECONDS = 0.05


class NotAudioError(ValueError):
    """The file is not audio we can use (not audio at all, empty, corrupt or truncated).

    The message is meant for the uploader, so it names the file and says what is wrong.
    """


@dataclass(frozen=True)
class AudioInfo:
    container: str  # ffmpeg's demuxer name, e.g. "mp3", "wav", "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # ffmpeg's codec name, e.g. "mp3", "aac", "pcm_s16le"
    duration_seconds: float  # what actually decodes, not what the header claims
    bitrate: int | None
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class AudioChunk:
    index: int
    start_seconds: float
    end_seconds: float
    path: Path

    @property
    def duration_seconds(self) -> float:
        return self.end_seconds - self.start_seconds


@dataclass
class _DecodeStats:
    packets: int = 0
    bad_packets: int = 0
    first_pos: int | None = None
    error: str = ""


def _open(path: Path) -> tuple[InputContainer, AudioStream]:
    """Open `path` and pick its first audio stream, turning ffmpeg's refusals into NotAudioError."""
    if path.stat().st_size == 0:  # FileNotFoundError is a bug upstream, not bad input: let it through
        raise NotAudioError(f"{path.name!r} is empty.")
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise NotAudioError(
            f"{path.name!r} could not be read as audio: it is not an audio file, or it is damaged or "
            f"incomplete ({_reason(exc)})."
        ) from exc
    if not container.streams.audio:
        container.close()
        raise NotAudioError(f"{path.name!r} contains no audio stream.")
    return container, container.streams.audio[0]


def _reason(exc: av.FFmpegError) -> str:
    return exc.strerror or str(exc)


def _decode(container: InputContainer, stream: AudioStream, stats: _DecodeStats) -> Iterator[AudioFrame]:
    """Yield decoded frames, skipping (and counting) packets the decoder rejects.

    Real audiobooks sometimes carry a damaged frame or two; one bad packet should not sink a 10-hour
    upload, so callers decide from `stats` whether the damage is acceptable.
    """
    try:
        for packet in container.demux(stream):
            if packet.size:
                stats.packets += 1
                if stats.first_pos is None and packet.pos is not None and packet.pos >= 0:
                    stats.first_pos = packet.pos
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                stats.bad_packets += 1
                stats.error = _reason(exc)
                continue
            yield from frames
    except av.FFmpegError as exc:  # the demuxer itself gave up: treat the rest of the file as bad
        stats.bad_packets += 1
        stats.error = _reason(exc)


def _declared_seconds(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def probe(path: Path) -> AudioInfo:
    """Describe an audio file, or raise NotAudioError if it is not usable audio.

    The whole stream is decoded: that is the only way to know the audio really plays to the end, and
    it is cheap (MP3 decodes at ~2000x real time here, so a 10-hour book takes ~20 s) and streams in
    constant memory. Truncation (an upload cut short) is found by comparing the decoded duration with
    the duration the headers declare (MP3 Xing/Info frame, MP4 `moov`, FLAC STREAMINFO). When the
    "declared" duration is only ffmpeg's estimate from file size and bitrate (MP3 without a Xing
    header), it carries no information, so it is not compared: such a file cut on a frame boundary
    is indistinguishable from a shorter, complete one. ffmpeg clamps a WAV's declared length to the
    file size, so for RIFF files the header's size field is checked directly.
    """
    container, stream = _open(path)
    with container:
        stats = _DecodeStats()
        samples = 0
        for frame in _decode(container, stream, stats):
            samples += frame.samples
        codec = stream.codec_context
        sample_rate = codec.sample_rate or stream.sample_rate
        if samples == 0 or not sample_rate:
            detail = f" ({stats.error})" if stats.error else ""
            raise NotAudioError(f"{path.name!r} contains no decodable audio{detail}.")
        if stats.bad_packets > max(1, stats.packets * MAX_BAD_PACKET_RATIO):
            raise NotAudioError(
                f"{path.name!r} is corrupt: {stats.bad_packets} of {stats.packets} audio packets "
                f"could not be decoded ({stats.error})."
            )
        decoded = samples / sample_rate
        _check_riff_size(path)
        declared = _declared_seconds(container, stream)
        nominal_bitrate = codec.bit_rate or None
        if declared and not _is_size_estimate(path, declared, nominal_bitrate, stats.first_pos):
            slack = max(TRUNCATION_SLACK_SECONDS, declared * TRUNCATION_SLACK_RATIO)
            if decoded < declared - slack:
                raise NotAudioError(
                    f"{path.name!r} looks truncated: its header declares {declared:.1f} s of audio "
                    f"but only {decoded:.1f} s could be decoded. Please upload the complete file."
                )
        return AudioInfo(
            container=container.format.name,
            codec=codec.codec.canonical_name,
            duration_seconds=decoded,
            bitrate=nominal_bitrate or container.bit_rate or None,
            sample_rate=sample_rate,
            channels=codec.channels or stream.layout.nb_channels,
        )


def _is_size_estimate(path: Path, declared: float, bitrate: int | None, first_pos: int | None) -> bool:
    """True when `declared` is just (bytes after the headers) / bitrate, i.e. ffmpeg guessed it."""
    if not bitrate:
        return False
    data_bytes = path.stat().st_size - (first_pos or 0)
    estimate = data_bytes * 8 / bitrate
    return abs(estimate - declared) <= 0.02 * declared


def _check_riff_size(path: Path) -> None:
    """WAV files state their size in the RIFF header; ffmpeg quietly clamps it, so check it here."""
    with path.open("rb") as f:
        header = f.read(8)
    if len(header) < 8 or header[:4] != b"RIFF":
        return
    declared = int.from_bytes(header[4:8], "little") + 8
    actual = path.stat().st_size
    if declared not in (8, 0xFFFFFFFF + 8) and declared > actual:  # 0 / -1: size unknown (streamed)
        raise NotAudioError(
            f"{path.name!r} looks truncated: its header declares {declared} bytes but the file has "
            f"only {actual}. Please upload the complete file."
        )


def split_for_transcription(
    path: Path, out_dir: Path, max_seconds: float = 600, sample_rate: int = 16000
) -> list[AudioChunk]:
    """Decode to mono 16-bit PCM at `sample_rate` and write WAV chunks of at most `max_seconds`.

    Chunks are cut at the quietest 50 ms window within the last 30 s before the limit (at most the
    last quarter of a chunk), so words are rarely split and every chunk fits the OpenAI 25 MB upload
    cap (10 min of 16 kHz mono s16 is 19.2 MB). Only one chunk of samples is held in memory.

    Times are positions in the decoded audio (samples / rate from the first decoded sample), which is
    what a player shows; chunks are contiguous: chunk i ends exactly where chunk i+1 starts.
    A file no longer than `max_seconds` gives one chunk; a file with no audio gives none.
    """
    return list(iter_chunks(path, out_dir, max_seconds, sample_rate))


def iter_chunks(
    path: Path,
    out_dir: Path,
    max_seconds: float = 600,
    sample_rate: int = 16000,
    *,
    skip: Callable[[AudioChunk], bool] | None = None,
) -> Generator[AudioChunk, None, None]:
    """`split_for_transcription` as a generator: each chunk is yielded as soon as its WAV is written.

    Cut points depend only on the audio, so the same file always gives the same chunks: a resumed
    job finds its finished chunks under the same indexes and times. `skip(chunk)` is asked before a
    chunk's WAV is written; when it says True the chunk is still yielded but no file is written
    (the job already has its text).
    """
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    out_dir.mkdir(parents=True, exist_ok=True)
    max_samples = int(max_seconds * sample_rate)
    search_samples = int(min(SEARCH_SECONDS, max_seconds / 4) * sample_rate)
    window = max(1, int(RMS_WINDOW_SECONDS * sample_rate))

    buffer = np.empty(max_samples, dtype=np.int16)
    filled = 0  # samples in `buffer`
    offset = 0  # samples in earlier chunks
    index = 0

    def emit(count: int) -> AudioChunk:
        nonlocal filled, offset, index
        chunk = AudioChunk(
            index=index,
            start_seconds=offset / sample_rate,
            end_seconds=(offset + count) / sample_rate,
            path=out_dir / f"chunk-{index:04d}.wav",
        )
        if skip is None or not skip(chunk):
            _write_wav(chunk.path, buffer[:count], sample_rate)
        remaining = filled - count
        buffer[:remaining] = buffer[count:filled]  # numpy handles the overlapping copy
        filled = remaining
        offset += count
        index += 1
        return chunk

    container, stream = _open(path)
    with container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        stats = _DecodeStats()
        for pcm in _resampled(_decode(container, stream, stats), resampler):
            while pcm.size:
                if filled == max_samples:  # more audio is coming and the chunk is full: cut it
                    yield emit(_quietest_cut(buffer, max_samples - search_samples, max_samples, window))
                take = min(pcm.size, max_samples - filled)
                buffer[filled : filled + take] = pcm[:take]
                filled += take
                pcm = pcm[take:]
        if filled:
            yield emit(filled)


def _resampled(frames: Iterator[AudioFrame], resampler: av.AudioResampler) -> Iterator[np.ndarray]:
    """Yield 1-D int16 arrays of resampled mono audio, flushing the resampler at the end."""
    for frame in frames:
        frame.pts = None  # we count samples ourselves; gaps or jumps in timestamps must not matter
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1)


def _quietest_cut(samples: np.ndarray, start: int, end: int, window: int) -> int:
    """Index in [start, end] at the middle of the quietest stretch of `window`-sized RMS windows.

    The lowest-RMS window is found first, then widened to its neighbours that are about as quiet, so
    a cut lands in the middle of a pause rather than at its edge.
    """
    start = max(0, start)
    count = (end - start) // window
    if count == 0:
        return end
    region = samples[start : start + count * window].astype(np.float64).reshape(count, window)
    rms = np.sqrt(np.mean(region * region, axis=1))
    best = int(np.argmin(rms))
    quiet = rms <= rms[best] * 1.1 + 1.0  # +1 LSB so digital silence and dither count alike
    left = right = best
    while left > 0 and quiet[left - 1]:
        left -= 1
    while right < count - 1 and quiet[right + 1]:
        right += 1
    cut = start + ((left + right + 1) * window) // 2
    return max(1, cut)  # never an empty chunk


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.astype("<i2", copy=False).data)  # a memoryview: no 19 MB bytes copy
