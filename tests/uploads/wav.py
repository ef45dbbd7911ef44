"""WAV files of any size made on demand, so big uploads need neither disk nor memory on the client."""

from __future__ import annotations

import struct

import numpy as np

from tests.uploads.resumable import Source

HEADER_BYTES = 44


def wav_source(total: int, rate: int = 16000, seed: int = 7) -> Source:
    """A mono 16-bit PCM WAV of `total` bytes: a header, then noise repeated from a 1 MiB block."""
    data_len = total - HEADER_BYTES
    assert data_len >= 0 and data_len % 2 == 0
    header = (
        b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", data_len)
    )  # fmt: skip
    block = np.random.default_rng(seed).normal(0, 3000, 512 * 1024).astype("<i2").tobytes()

    def source(offset: int, length: int) -> bytes:
        out = bytearray()
        if offset < len(header):
            out += header[offset : offset + length]
        position = max(offset, len(header))
        while len(out) < length:
            start = (position - len(header)) % len(block)
            piece = block[start : start + length - len(out)]
            out += piece
            position += len(piece)
        return bytes(out)

    return source
