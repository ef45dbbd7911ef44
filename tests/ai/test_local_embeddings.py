"""all-MiniLM-L6-v2 in numpy gives the vectors sentence-transformers gives.

The reference numbers (first six dimensions, and the word-piece ids) are sentence-transformers' own
output for these sentences as published by other ports of the model; the model loads once per test
session (the process keeps it).
"""

from __future__ import annotations

import numpy as np
import pytest

from audiocity.ai.base import EMBEDDING_DIMENSIONS
from audiocity.ai.local_embeddings import LocalEmbedder, load_model, read_safetensors

SENTENCES = ["This is an example sentence", "Each sentence is converted.", "", "Café déjà vu — 東京"]
REFERENCE_IDS = [
    [101, 2023, 2003, 2019, 2742, 6251, 102, 0, 0],
    [101, 2169, 6251, 2003, 4991, 1012, 102, 0, 0],
    [101, 102, 0, 0, 0, 0, 0, 0, 0],
    [101, 7668, 2139, 3900, 24728, 1517, 1879, 1755, 102],
]
REFERENCE_PREFIX = np.array(
    [
        [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
        [0.07853645, 0.08856265, -0.00209270, -0.00717247, -0.01252624, 0.01881747],
        [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.05195070, 0.01029179],
        [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
    ]
)


def test_matches_sentence_transformers_reference_values() -> None:
    model = load_model()
    ids, mask = model.token_ids(SENTENCES)
    assert ids.tolist() == REFERENCE_IDS
    assert mask.sum(axis=1).tolist() == [7, 7, 2, 9]
    vectors = model.encode(SENTENCES)
    assert vectors.shape == (4, EMBEDDING_DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.abs(vectors[:, :6] - REFERENCE_PREFIX).max() < 2e-6


def test_padding_does_not_change_a_vector() -> None:
    """A text encoded alone and beside a much longer one (so padded) gets the same vector."""
    model = load_model()
    alone = model.encode(["A short line."])[0]
    padded = model.encode(["A short line.", "a much longer sentence " * 20])[0]
    assert np.abs(alone - padded).max() < 1e-5


async def test_paraphrases_are_closer_than_unrelated_sentences() -> None:
    result = await LocalEmbedder().embed(
        [
            "A sailor lost at sea",
            "The captain of a ship fights through a terrible storm on the ocean.",
            "A young pastry chef opens a small bakery in Paris.",
            "How do I reset my password?",
            "I forgot my login credentials and need to change them.",
        ]
    )
    v = np.array(result.vectors)
    sims = v @ v.T
    assert result.provider == "local" and result.model == "all-MiniLM-L6-v2"
    assert sims[0, 1] > 0.45 and sims[3, 4] > 0.45
    assert sims[0, 2] < 0.2 and sims[3, 0] < 0.2 and sims[4, 2] < 0.2
    assert sims[0, 1] > sims[0, 2] + 0.3


def test_safetensors_reader(tmp_path: pytest.TempPathFactory) -> None:
    """The header is a little-endian length and JSON; tensors are raw little-endian bytes."""
    import json
    import struct
    from pathlib import Path

    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([1, 2], dtype="<i8")
    header = {
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    path = Path(str(tmp_path)) / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes())
    tensors = read_safetensors(path)
    assert tensors["a"].tolist() == a.tolist() and tensors["a"].dtype == np.float32
    assert tensors["b"].tolist() == [1, 2]
