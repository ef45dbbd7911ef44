"""Passages: the stitched transcript in short timed runs of sentences."""

from __future__ import annotations

import itertools

from audiocity.ai.base import Segment
from audiocity.services.passages import split_passages


def _segments(n: int, words: int = 12) -> list[Segment]:
    return [Segment(start=i * 5.0, end=i * 5.0 + 4.5, text=" ".join(["word"] * words) + ".") for i in range(n)]


def test_passages_keep_times_and_text() -> None:
    segs = _segments(40)
    passages = split_passages(segs)
    assert len(passages) > 1
    assert [p.position for p in passages] == list(range(len(passages)))
    assert " ".join(p.text for p in passages) == " ".join(s.text for s in segs)
    assert passages[0].start_seconds == 0.0
    assert passages[-1].end_seconds == segs[-1].end
    for a, b in itertools.pairwise(passages):
        assert a.end_seconds <= b.start_seconds


def test_passage_ends_at_a_sentence_and_is_bounded() -> None:
    segs = [Segment(start=float(i), end=i + 0.9, text="no stop here" * 5) for i in range(30)]
    passages = split_passages(segs, soft_chars=100, hard_chars=200)
    assert all(len(p.text) <= 200 for p in passages)
    sentences = split_passages(_segments(10), soft_chars=100, hard_chars=1000)
    assert all(p.text.endswith(".") for p in sentences)


def test_blank_segments_make_no_passage() -> None:
    assert split_passages([Segment(start=0, end=1, text="  ")]) == []
